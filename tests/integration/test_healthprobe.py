"""The stack role's health probe (roles/stack/files/healthprobe), the health check of every
local service image, against real servers on 127.0.0.1: an HTTP server and gRPC servers
(grpcio) that this test starts, and closed ports. The stand-in service's /ready and gRPC
health through the probe, with real MongoDB and Redis, are in test_standin_service.py."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import pytest

# Bodies of the test server, as a service would answer.
ANSWERS = {
    "/ready": (200, {"status": "ready"}),
    "/health": (204, None),
    "/down": (503, {"status": "unhealthy", "checks": {"redis": "dial tcp: connection refused"}}),
}
SLOW_SECONDS = 3


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server name
        if self.path == "/slow":
            time.sleep(SLOW_SECONDS)
        code, body = ANSWERS.get(self.path, (404, {"error": "not found"}))
        data = json.dumps(body, indent=2).encode() if body is not None else b""
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def http_base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def grpc_server(statuses: dict[str, int] | None) -> tuple[grpc.Server, int]:
    """A gRPC server on 127.0.0.1; statuses: service name -> grpc.health.v1 status number
    (1 SERVING, 2 NOT_SERVING), or None for a server without the health service."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    if statuses is not None:

        def check(request: bytes, context):
            service = request[2:].decode() if request else ""
            if service not in statuses:
                context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {service!r}")
            return bytes([0x08, statuses[service]])

        handler = grpc.method_handlers_generic_handler(
            "grpc.health.v1.Health", {"Check": grpc.unary_unary_rpc_method_handler(check)}
        )
        server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


@pytest.fixture(scope="module")
def grpc_health_port() -> Iterator[int]:
    server, port = grpc_server({"": 1, "auth.v1.Auth": 2})
    yield port
    server.stop(None)


@pytest.fixture(scope="module")
def grpc_bare_port() -> Iterator[int]:
    server, port = grpc_server(None)
    yield port
    server.stop(None)


def probe(binary: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(binary), *args], capture_output=True, text=True, timeout=20, check=False
    )


def failed(done: subprocess.CompletedProcess) -> str:
    """The one line a failing probe writes, checked to be that: exit 1, one stderr line."""
    assert done.returncode == 1, done
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("healthprobe: "), done.stderr
    return lines[0]


def test_http_2xx_passes_silently(healthprobe, http_base):
    for path in ("/ready", "/health"):  # 200 and 204
        done = probe(healthprobe, "-http", http_base + path)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", ""), path


def test_http_non_2xx_fails_quoting_status_and_body(healthprobe, http_base):
    line = failed(probe(healthprobe, "-http", http_base + "/down"))
    assert line == (
        f"healthprobe: GET {http_base}/down answered 503 Service Unavailable: "
        '"{ \\"status\\": \\"unhealthy\\", \\"checks\\": { \\"redis\\": '
        '\\"dial tcp: connection refused\\" } }"'
    )
    line = failed(probe(healthprobe, "-http", http_base + "/no/such/path"))
    assert f"GET {http_base}/no/such/path answered 404 Not Found" in line


def test_http_closed_port_and_timeout_fail_saying_why(healthprobe, http_base):
    port = closed_port()
    line = failed(probe(healthprobe, "-http", f"http://127.0.0.1:{port}/ready"))
    assert line == (
        f"healthprobe: GET http://127.0.0.1:{port}/ready: "
        f"dial tcp 127.0.0.1:{port}: connect: connection refused"
    )

    started = time.monotonic()
    line = failed(probe(healthprobe, "-timeout", "1s", "-http", http_base + "/slow"))
    elapsed = time.monotonic() - started
    assert f"GET {http_base}/slow: " in line and "Client.Timeout exceeded" in line
    assert elapsed < SLOW_SECONDS, f"the probe waited {elapsed:.1f}s despite -timeout 1s"


def test_grpc_serving_passes_and_not_serving_fails(healthprobe, grpc_health_port):
    target = f"127.0.0.1:{grpc_health_port}"
    done = probe(healthprobe, "-grpc", target)
    assert (done.returncode, done.stderr) == (0, "")

    line = failed(probe(healthprobe, "-grpc", target, "-grpc-service", "auth.v1.Auth"))
    assert line == f"healthprobe: gRPC health of {target} answered NOT_SERVING"

    line = failed(probe(healthprobe, "-grpc", target, "-grpc-service", "nope"))
    assert line == f"healthprobe: gRPC health of {target}: unknown service 'nope'"


def test_grpc_closed_port_and_missing_health_service_fail_saying_why(healthprobe, grpc_bare_port):
    port = closed_port()
    line = failed(probe(healthprobe, "-grpc", f"127.0.0.1:{port}"))
    assert line.startswith(f"healthprobe: gRPC health of 127.0.0.1:{port}: ")
    assert "connection refused" in line

    target = f"127.0.0.1:{grpc_bare_port}"
    line = failed(probe(healthprobe, "-grpc", target))
    assert line == (
        f"healthprobe: gRPC health of {target}: the server does not register grpc.health.v1 "
        "(set grpc_health: false in its catalog entry)"
    )


def test_http_and_grpc_together_need_both(healthprobe, http_base, grpc_health_port):
    target = f"127.0.0.1:{grpc_health_port}"
    assert probe(healthprobe, "-http", http_base + "/ready", "-grpc", target).returncode == 0

    line = failed(probe(healthprobe, "-http", http_base + "/down", "-grpc", target))
    assert "/down answered 503" in line and "gRPC" not in line

    port = closed_port()
    line = failed(probe(healthprobe, "-http", http_base + "/down", "-grpc", f"127.0.0.1:{port}"))
    http_part, grpc_part = line.split("; ", 1)
    assert "/down answered 503" in http_part
    assert grpc_part.startswith(f"gRPC health of 127.0.0.1:{port}: ")


def test_wrong_use_exits_2_with_usage(healthprobe):
    done = probe(healthprobe)
    assert done.returncode == 2
    assert "give -http URL and/or -grpc host:port" in done.stderr
    done = probe(healthprobe, "-http", "http://127.0.0.1:1/", "extra")
    assert done.returncode == 2
    done = probe(healthprobe, "-healthcheck")
    assert done.returncode == 2 and "flag provided but not defined: -healthcheck" in done.stderr
