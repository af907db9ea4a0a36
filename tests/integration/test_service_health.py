"""service_health against real servers on 127.0.0.1: HTTP servers in threads, TCP
listeners, a closed port, the harness's FerretDB, and a real gRPC health server."""

import socket
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils import service_health as sh


class Server:
    """An HTTP server in a thread whose answer is decided by ``answer(elapsed)``."""

    def __init__(self, answer):
        self.started = time.monotonic()
        self.healthy_at = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                status, body = answer(time.monotonic() - outer.started)
                if status == 200 and outer.healthy_at is None:
                    outer.healthy_at = time.monotonic()
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/health"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers():
    made = []

    def make(answer):
        server = Server(answer)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


@pytest.fixture
def listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ferretdb_port(harness_state):
    return int(harness_state["ferretdb"]["uri"].rsplit(":", 1)[1].strip("/"))


def test_returns_within_one_interval_of_the_last_turning_healthy(servers, listener, harness_state):
    late = servers(lambda t: (200, '{"status":"ok"}') if t >= 1.0 else (503, "starting"))
    ready = servers(lambda t: (200, "ok"))
    endpoints = sh.make_endpoints(
        [
            {"name": "late", "url": late.url, "body_contains": '"ok"'},
            {"name": "ready", "url": ready.url},
            {"name": "listener", "kind": "tcp", "port": listener},
            {"name": "ferretdb", "kind": "tcp", "port": ferretdb_port(harness_state)},
        ]
    )
    outcome = sh.wait(endpoints, deadline_s=10)
    returned = time.monotonic()
    assert outcome["healthy"] and outcome["unhealthy"] == []
    # From the moment the last server turned healthy (1 s after it started) to the return.
    lag = returned - (late.started + 1.0)
    print(f"returned {lag:.3f} s after the last endpoint turned healthy")
    by_name = {r["name"]: r for r in outcome["results"]}
    assert by_name["late"]["attempts"] >= 4 and by_name["late"]["status"] == 200
    assert 1.0 <= by_name["late"]["healthy_after_s"] < 1.5
    assert by_name["ready"]["attempts"] == 1 and by_name["ferretdb"]["status"] == "open"
    assert 0 < lag < 0.5, lag
    assert outcome["elapsed_s"] < 1.6


def test_failure_names_every_unhealthy_endpoint_and_its_last_error(servers, listener):
    never = servers(lambda t: (503, "starting"))
    broken = servers(lambda t: (500, "boom"))
    wrong_body = servers(lambda t: (200, '{"status":"degraded"}'))
    port = closed_port()
    endpoints = sh.make_endpoints(
        [
            {"name": "never", "url": never.url},
            {"name": "broken", "url": broken.url},
            {"name": "wrong-body", "url": wrong_body.url, "body_regex": '"status":\\s*"ok"'},
            {"name": "closed", "kind": "tcp", "port": port},
            {"name": "listener", "kind": "tcp", "port": listener},
        ]
    )
    started = time.monotonic()
    outcome = sh.wait(endpoints, deadline_s=1.0)
    took = time.monotonic() - started
    assert 1.0 <= took < 1.5, took
    assert outcome["unhealthy"] == ["never", "broken", "wrong-body", "closed"]
    by_name = {r["name"]: r for r in outcome["results"]}
    assert by_name["never"]["last_error"] == "HTTP 503, expected 200"
    assert by_name["broken"]["status"] == 500
    assert by_name["wrong-body"]["last_error"] == (
        'HTTP 200 but the body \'{"status":"degraded"}\' does not match /"status":\\s*"ok"/'
    )
    assert by_name["closed"]["last_error"] == "connection refused"
    assert by_name["closed"]["attempts"] >= 3 and by_name["closed"]["healthy_after_s"] is None
    message = sh.failure_message(outcome, 1.0)
    assert message.startswith("4 of 5 endpoints not healthy after 1s (deadline): never (http ")
    assert f"closed (tcp 127.0.0.1:{port}: connection refused)." in message
    assert "listener" not in message


def test_grpc_falls_back_to_tcp_with_a_note_without_grpcio(monkeypatch, harness_state):
    monkeypatch.setattr(sh, "_grpc", None)
    endpoints = sh.make_endpoints(
        [
            {"name": "db", "kind": "grpc", "port": ferretdb_port(harness_state)},
            {"name": "gone", "kind": "grpc", "port": closed_port()},
        ]
    )
    outcome = sh.wait(endpoints, deadline_s=0.6)
    db, gone = outcome["results"]
    assert db["healthy"] and db["status"] == "open" and db["note"] == sh.GRPC_FALLBACK_NOTE
    assert not gone["healthy"] and gone["last_error"] == "connection refused"


def test_grpc_health_check_against_a_real_grpc_server():
    try:
        import grpc
    except ImportError:
        pytest.fail("grpcio is not installed: add grpcio==1.85.3 to requirements.txt.")
    statuses = {"": b"\x08\x01", "auth.v1.Auth": b"\x08\x02"}

    def check(request, context):
        service = request[2:].decode() if request else ""
        if service not in statuses:
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return statuses[service]

    handler = grpc.method_handlers_generic_handler(
        "grpc.health.v1.Health", {"Check": grpc.unary_unary_rpc_method_handler(check)}
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        endpoints = sh.make_endpoints(
            [
                {"name": "server", "kind": "grpc", "port": port},
                {"name": "auth", "kind": "grpc", "port": port, "grpc_service": "auth.v1.Auth"},
                {"name": "other", "kind": "grpc", "port": port, "grpc_service": "x"},
            ]
        )
        outcome = sh.wait(endpoints, deadline_s=0.8)
    finally:
        server.stop(None)
    server_result, auth, other = outcome["results"]
    assert server_result["healthy"] and server_result["status"] == "SERVING"
    assert server_result["note"] is None
    assert not auth["healthy"] and auth["last_error"] == "gRPC health status NOT_SERVING"
    assert other["last_error"] == "gRPC NOT_FOUND: unknown service"


# The default callback's text, whatever ANSIBLE_STDOUT_CALLBACK the caller's shell sets.
DEFAULT_CALLBACK = {"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"}


def test_module_fails_naming_endpoints_and_masks_url_passwords(
    play_tasks, tmp_path, servers, repo_root
):
    broken = servers(lambda t: (500, "boom"))
    ok = servers(lambda t: (200, "ok"))
    secret_url = ok.url.replace("http://", "http://ops:hunter2-pass@")
    task = {
        "vhvcorp.devtools.service_health": {
            "deadline": 1,
            "endpoints": [{"name": "ok", "url": secret_url}, {"name": "broken", "url": broken.url}],
        }
    }
    result = play_tasks([task], "-v", env=DEFAULT_CALLBACK)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert (
        f"1 of 2 endpoints not healthy after 1s (deadline): broken (http {broken.url}: HTTP 500, "
        in out
    )
    assert "hunter2-pass" not in out and "ops:********@" in out


def test_module_in_check_mode_probes_once_and_does_not_fail(play_tasks, tmp_path):
    port = closed_port()
    task = {
        "vhvcorp.devtools.service_health": {
            "deadline": 30,
            "endpoints": [{"name": "gone", "kind": "tcp", "port": port}],
        },
        "register": "health",
    }
    show = {
        "ansible.builtin.debug": {
            "msg": "H={{ health.healthy }} A={{ health.endpoints[0].attempts }}"
        }
    }
    started = time.monotonic()
    result = play_tasks([task, show], "--check", env=DEFAULT_CALLBACK)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "H=False A=1" in result.stdout
    assert time.monotonic() - started < 25
