"""Jaeger from the local image (v1.75, built from the Go module proxy), run by start.yml in
a stack of its own: a span sent over OTLP/HTTP (4318, a JSON payload) is found through the
query API (16686, /api/traces?service=...), and the health port (13133) answers.

Project vhvcorp-jaegertest with host ports offset by 22000, so it runs next to a
developer's own stack; only 127.0.0.1 and the container it started are contacted. Run under
`flock /tmp/devtools-stack.lock` like every test that brings a stack up.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.integration

PROJECT = "vhvcorp-jaegertest"
OFFSET = 22000
OTLP_HTTP = 4318 + OFFSET
QUERY = 16686 + OFFSET
HEALTH = 13133 + OFFSET


def http(url: str, body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")
    if body:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - 127.0.0.1 only
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def otlp_trace(service: str, trace_id: str, span_id: str) -> bytes:
    """One span in OTLP/HTTP's JSON encoding (trace and span ids are hex strings)."""
    now = time.time_ns()
    return json.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": [{"key": "service.name", "value": {"stringValue": service}}]
                    },
                    "scopeSpans": [
                        {
                            "scope": {"name": "vhvcorp.devtools.tests"},
                            "spans": [
                                {
                                    "traceId": trace_id,
                                    "spanId": span_id,
                                    "name": "GET /ready",
                                    "kind": 2,
                                    "startTimeUnixNano": str(now - 5_000_000),
                                    "endTimeUnixNano": str(now),
                                    "attributes": [
                                        {"key": "http.method", "value": {"stringValue": "GET"}}
                                    ],
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    ).encode()


@pytest.fixture(scope="module")
def jaeger_stack(playbook, make_workspace, tmp_path_factory):
    workspace = tmp_path_factory.mktemp("jaeger") / "ws"
    make_workspace(workspace)
    options = [
        "-e", f"workspace={workspace}",
        "-e", "image_source=local",
        "-e", "profile=custom",
        "-e", json.dumps({"services": [], "devtools_stack_custom_components": ["jaeger"]}),
        "-e", f"devtools_stack_project={PROJECT}",
        "-e", f"devtools_stack_port_offset={OFFSET}",
    ]  # fmt: skip
    up = playbook("start.yml", *options, timeout=None)
    assert up.returncode == 0, up.stdout[-4000:]
    yield {"workspace": workspace, "options": options, "up": up}
    subprocess.run(
        ["docker", "compose", "-p", PROJECT, "down", "--volumes", "--remove-orphans"],
        capture_output=True,
        check=False,
    )


def test_jaeger_runs_healthy_from_the_local_image(jaeger_stack):
    state = subprocess.run(
        ["docker", "inspect", "-f", "{{.Config.Image}} {{.State.Health.Status}}",
         f"{PROJECT}-jaeger"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert state == ["vhvcorp-local/jaeger:1.75", "healthy"]
    # Published on 127.0.0.1 only: the query API, health and OTLP ports (offset).
    published = subprocess.run(
        ["docker", "port", f"{PROJECT}-jaeger"], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    for container, host in ((16686, QUERY), (13133, HEALTH), (4318, OTLP_HTTP)):
        assert f"{container}/tcp -> 127.0.0.1:{host}" in published, published
    assert all(" -> 127.0.0.1:" in line for line in published if line), published
    status, _ = http(f"http://127.0.0.1:{HEALTH}/status")
    assert status == 200
    # Not left out any more: the run names the substitution of the registry's image.
    warned = " ".join(jaeger_stack["up"].stderr.split())
    assert "jaeger: vhvcorp-local/jaeger:1.75 instead of jaegertracing/all-in-one:1.57" in warned


def test_a_span_sent_over_otlp_is_found_through_the_query_api(jaeger_stack):
    service = f"devtools-test-{secrets.token_hex(4)}"
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    status, body = http(
        f"http://127.0.0.1:{OTLP_HTTP}/v1/traces", otlp_trace(service, trace_id, span_id)
    )
    assert status == 200, body
    # The batch processor forwards within a second or so; allow for a busy machine.
    deadline, traces = time.monotonic() + 30, []
    while time.monotonic() < deadline and not traces:
        status, body = http(f"http://127.0.0.1:{QUERY}/api/traces?service={service}")
        traces = json.loads(body).get("data") or [] if status == 200 else []
        if not traces:
            time.sleep(0.5)
    assert len(traces) == 1, body
    assert traces[0]["traceID"] == trace_id
    (span,) = traces[0]["spans"]
    assert (span["spanID"], span["operationName"]) == (span_id, "GET /ready")
    services = json.loads(http(f"http://127.0.0.1:{QUERY}/api/services")[1])["data"]
    assert service in services


def test_the_ui_port_serves_a_placeholder_page_not_the_ui(jaeger_stack):
    """The module download has no web UI assets (README says so): a placeholder page."""
    status, body = http(f"http://127.0.0.1:{QUERY}/")
    assert status == 200
    assert b"<title>Test Page</title>" in body
