"""test-api.yml through `make test-api`, as users type it, against small APIs served by the
test itself on 127.0.0.1: one implementing the five routes of test-api.sh (a user registered,
logged in, and read back with the login's token: the run passes, every row ok, and the
password the playbook generated is in no output, even at -vvv), one answering /health only,
as the stand-in gateway does (the table shows the real failures, the run fails naming them,
users/me is not sent), and a base URL off this machine, refused before anything is sent."""

import http.server
import json
import re
import secrets
import threading

import pytest

pytestmark = pytest.mark.integration


class FakeApi(http.server.ThreadingHTTPServer):
    """The five routes (full=True) or /health alone (full=False); remembers what it got."""

    def __init__(self, full: bool):
        super().__init__(("127.0.0.1", 0), Handler)
        self.full = full
        self.users, self.tokens, self.seen = {}, {}, []


class Handler(http.server.BaseHTTPRequestHandler):
    def _reply(self, status: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server's name
        api = self.server
        api.seen.append(("GET", self.path, self.headers.get("Authorization", "")))
        if self.path == "/health":
            return self._reply(200, {"status": "ok"})
        if api.full and self.path == "/api/v1":
            return self._reply(200, {"version": "v1"})
        if api.full and self.path == "/api/v1/users/me":
            email = api.tokens.get(self.headers.get("Authorization", "").removeprefix("Bearer "))
            if email:
                return self._reply(200, {"email": email})
            return self._reply(401, {"error": "unauthorized"})
        return self._reply(404, {"error": "not found"})

    def do_POST(self):  # noqa: N802 - http.server's name
        api = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        api.seen.append(("POST", self.path, body))
        if api.full and self.path == "/api/v1/auth/register":
            if body["email"] in api.users or not body.get("password"):
                return self._reply(409, {"error": "exists"})
            api.users[body["email"]] = body["password"]
            return self._reply(201, {"id": body["email"]})
        if api.full and self.path == "/api/v1/auth/login":
            if api.users.get(body["email"]) != body["password"]:
                return self._reply(401, {"error": "bad credentials"})
            token = secrets.token_hex(16)
            api.tokens[token] = body["email"]
            return self._reply(200, {"data": {"access_token": token}})
        return self._reply(404, {"error": "not found"})

    def log_message(self, *args):
        pass


def serve(full: bool):
    api = FakeApi(full)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    return api


@pytest.fixture
def full_api():
    api = serve(True)
    yield api
    api.shutdown()


@pytest.fixture
def health_only_api():
    api = serve(False)
    yield api
    api.shutdown()


def base(api) -> str:
    return f"http://127.0.0.1:{api.server_address[1]}"


ROW = re.compile(
    r"^(health|api version|register|login|users/me) \((\w+) (\S+)\)\s+(\S+)\s+(\S+)\s+(.*)$"
)


def table_rows(stdout: str) -> dict:
    """{check: (status, latency, result)} of the table the playbook printed."""
    rows = {}
    for line in stdout.splitlines():
        match = ROW.match(line.strip())
        if match:
            rows[match.group(1)] = match.group(4, 5, 6)
    return rows


def test_the_five_checks_pass_on_an_api_that_has_them(make, full_api):
    run = make("test-api", API_BASE=base(full_api), ARGS="-vvv")
    assert run.returncode == 0, run.stdout[-3000:]
    rows = table_rows(run.stdout)
    assert list(rows) == ["health", "api version", "register", "login", "users/me"], run.stdout
    assert [r[2] for r in rows.values()] == ["ok"] * 5
    assert [r[0] for r in rows.values()] == ["200", "200", "201", "200", "200"]
    assert all(float(r[1]) > 0 for r in rows.values())
    # users/me carried the login's token; the password was generated, and printed nowhere.
    (register,) = [s[2] for s in full_api.seen if s[1] == "/api/v1/auth/register"]
    assert len(register["password"]) >= 20 and register["email"] in full_api.users
    assert register["password"] not in run.stdout + run.stderr
    (me,) = [s[2] for s in full_api.seen if s[1] == "/api/v1/users/me"]
    assert me.startswith("Bearer ") and me.removeprefix("Bearer ") in full_api.tokens
    assert me.removeprefix("Bearer ") not in run.stdout + run.stderr
    # A second run registers another user.
    again = make("test-api", API_BASE=base(full_api))
    assert again.returncode == 0 and len(full_api.users) == 2


def test_an_api_with_health_only_fails_naming_the_checks(make, health_only_api):
    run = make("test-api", API_BASE=base(health_only_api))
    assert run.returncode == 2, run.stdout[-3000:]  # make's: ansible-playbook failed
    rows = table_rows(run.stdout)
    assert rows["health"][::2] == ("200", "ok")
    assert rows["api version"][0] == rows["register"][0] == rows["login"][0] == "404"
    assert all(rows[c][2] == "FAIL: HTTP 404" for c in ("api version", "register", "login"))
    assert rows["users/me"] == ("-", "-", "FAIL: not sent: the login gave no token")
    assert not [s for s in health_only_api.seen if s[1] == "/api/v1/users/me"]
    text = " ".join(run.stdout.split())
    assert "failed api version, register, login, users/me (see the table above)" in text


def test_a_base_off_this_machine_is_refused(make):
    run = make("test-api", API_BASE="http://192.0.2.1:8080")
    assert run.returncode == 2
    text = " ".join(run.stdout.split())
    assert "is not on this machine's loopback address" in text
    assert "-e test_api_allow_remote=true" in text
