"""load-test.yml through `make test-platform-load`, as users type it, against an HTTP server
of the test's own on 127.0.0.1 (one answering 200, one path 503): the requests are bounded
by count and by duration, the output gives requests/s and the latency percentiles, errors
fail the run, and a URL off this machine is refused before anything is sent."""

import http.server
import re
import threading

import pytest

pytestmark = pytest.mark.integration


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the gateway

    def do_GET(self):  # noqa: N802 - http.server's name
        status = 503 if self.path == "/down" else 200
        body = b'{"status":"ok"}'
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


SUMMARY = re.compile(
    r"(\d+) requests in ([\d.]+) s: ([\d.]+) requests/s; latency p50 ([\d.]+) ms, "
    r"p90 ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms; (\d+) errors"
)


def test_a_bounded_count_prints_the_rate_and_percentiles(make, server):
    run = make("test-platform-load", URL=f"{server}/health", REQUESTS=300, CONCURRENCY=3)
    assert run.returncode == 0, run.stdout[-3000:]
    sent, _, rate, p50, p90, p99, top, errors = SUMMARY.search(
        " ".join(run.stdout.split())
    ).groups()
    assert int(sent) == 300 and int(errors) == 0 and float(rate) > 0
    assert float(p50) <= float(p90) <= float(p99) <= float(top)


def test_the_duration_bounds_it_too(make, server):
    run = make("test-platform-load", URL=f"{server}/health", REQUESTS=10_000_000, DURATION=1)
    assert run.returncode == 0, run.stdout[-3000:]
    sent, seconds = SUMMARY.search(" ".join(run.stdout.split())).groups()[:2]
    assert 0 < int(sent) < 10_000_000 and float(seconds) < 3


def test_errors_fail_the_run_and_a_url_off_this_machine_is_refused(make, server):
    down = make("test-platform-load", URL=f"{server}/down", REQUESTS=20)
    assert down.returncode != 0
    assert "20 of 20 requests to" in " ".join(down.stdout.split())
    away = make("test-platform-load", URL="http://192.0.2.1:8080/health", REQUESTS=1)
    assert away.returncode != 0
    assert "only sends to 127.0.0.1" in " ".join(away.stdout.split())
