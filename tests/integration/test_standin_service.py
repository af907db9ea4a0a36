"""The Go stand-in service (roles/stack/files/demo-service) against real MongoDB and Redis.

The binary is built once per session with the machine's Go (Go's own caches, from the Go
module proxy), run as a process on 127.0.0.1 with free ports, pointed at the harness's
FerretDB and at a Redis container of the local image vhvcorp-local/redis:7.0 that the test
starts, stops and starts again. The six fixture repositories are cloned with plain
`git clone` and built.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
import standin_fixtures  # tests/: pythonpath

GO = "/usr/local/go/bin/go"
REDIS_IMAGE = "vhvcorp-local/redis:7.0"
BASE_IMAGE = "vhvcorp-local/debian:bookworm"
TESTS_DIR = Path(__file__).resolve().parent.parent
SOURCE = TESTS_DIR.parent / "roles" / "stack" / "files" / "demo-service"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    return free_port()


def eventually(check: Callable[[], object], timeout: float, what: str) -> object:
    """check()'s first truthy result; an exception or a falsy result means "not yet"."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            last = exc
        time.sleep(0.2)
    pytest.fail(f"{what} within {timeout}s; last: {last}")


@pytest.fixture(scope="session")
def standin_binary(tmp_path_factory, go_build) -> Path:
    out = tmp_path_factory.mktemp("standin") / "server"
    seconds = go_build(SOURCE, out)
    print(f"stand-in built in {seconds:.1f}s")
    return out


class Redis:
    """A Redis container on a fixed 127.0.0.1 port, so that stop and start keep the address."""

    def __init__(self, engine: docker.DockerClient, labels: dict):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.container = engine.containers.run(
            REDIS_IMAGE,
            detach=True,
            labels=labels,
            ports={"6379/tcp": ("127.0.0.1", self.port)},
        )
        self.wait()

    def ping(self) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            answer = sock.recv(64)
        if answer != b"+PONG\r\n":
            # docker-proxy accepts before Redis listens: an empty answer means "not yet".
            raise ConnectionError(f"Redis answered {answer!r}")
        return answer

    def wait(self) -> None:
        # 60 s: on a loaded machine (the CI shares two cores) a container can take half a
        # minute to start; the failure says what the container did meanwhile.
        try:
            eventually(self.ping, 60, f"Redis on {self.port} did not answer PING")
        except pytest.fail.Exception as exc:
            self.container.reload()
            logs = self.container.logs(tail=20).decode(errors="replace")
            pytest.fail(f"{exc}; container {self.container.status}, its log:\n{logs}")

    def stop(self) -> None:
        self.container.stop(timeout=5)

    def start(self) -> None:
        self.container.start()
        self.wait()


@pytest.fixture
def redis_server(engine, container_label) -> Iterator[Redis]:
    server = Redis(engine, container_label)
    yield server
    server.container.remove(force=True)


class Standin:
    """The stand-in binary running as a process of the test."""

    def __init__(
        self,
        binary: Path,
        log: Path,
        env: dict[str, str],
        healthprobe: Path,
        cwd: Path | None = None,
        ports=None,
    ):
        """ports: (HTTP, gRPC or None) when they come from the .env in cwd, not from env's
        <PREFIX>_ variables (port_env)."""
        self.binary = binary
        self.healthprobe = healthprobe
        self.log = log
        self.env = env
        self.cwd = cwd
        self.http_port, self.grpc_port = ports or env_ports(env)
        self.base = f"http://127.0.0.1:{self.http_port}"
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [str(binary)], env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT
            )
        eventually(self._listening, 15, f"the stand-in did not listen on {self.http_port}")

    def _listening(self) -> bool:
        if self.proc.poll() is not None:
            pytest.fail(f"the stand-in exited with {self.proc.returncode}:\n{self.log_text()}")
        socket.create_connection(("127.0.0.1", self.http_port), timeout=0.5).close()
        return True

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def health(self) -> tuple[int, dict]:
        status, body = self.get("/health")
        return status, json.loads(body)

    def probe(self, path: str | None = "/ready", grpc: bool = False) -> subprocess.CompletedProcess:
        """The stack's health probe, as a local image's health check runs it: GET path on the
        HTTP port (none: no HTTP check), and grpc.health.v1 on the gRPC port with grpc."""
        args = ["-http", self.base + path] if path else []
        if grpc:
            args += ["-grpc", f"127.0.0.1:{self.grpc_port}"]
        return subprocess.run(
            [str(self.healthprobe), *args],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def log_records(self) -> list[dict]:
        return [json.loads(line) for line in self.log_text().splitlines() if line]

    def terminate(self, timeout: float = 10) -> tuple[int, float]:
        """SIGTERM; return the exit code and the seconds it took to exit."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def prefix(service: str) -> str:
    return service.upper().replace("-", "_")


def port_env(service: str, http_port: int, grpc_port: int | None = None) -> dict[str, str]:
    """A service's ports as the platform's services read them (go-shared's names):
    <PREFIX>_HTTP_PORT and <PREFIX>_PORT (gRPC) with gRPC, <PREFIX>_PORT (HTTP) without."""
    if grpc_port is None:
        return {f"{prefix(service)}_PORT": str(http_port)}
    return {
        f"{prefix(service)}_HTTP_PORT": str(http_port),
        f"{prefix(service)}_PORT": str(grpc_port),
    }


def env_ports(env: dict[str, str]) -> tuple[int, int | None]:
    """(HTTP, gRPC or None) of the stand-in's environment, read back from port_env's names."""
    service = prefix(env.get("SERVICE_NAME", "demo-service"))
    if f"{service}_HTTP_PORT" in env:
        return int(env[f"{service}_HTTP_PORT"]), int(env[f"{service}_PORT"])
    return int(env[f"{service}_PORT"]), None


@pytest.fixture
def run_standin(standin_binary, healthprobe, tmp_path) -> Iterator[Callable[..., Standin]]:
    """Start stand-ins: run_standin(SERVICE_NAME=..., MONGODB_URI=..., ...) -> Standin; its
    ports free ones, with gRPC unless grpc=False."""
    started: list[Standin] = []

    def start(grpc: bool = True, **overrides: str) -> Standin:
        service = overrides.get("SERVICE_NAME", "auth-service")
        env = {
            "PATH": "/usr/bin:/bin",
            "SERVICE_NAME": service,
            **port_env(service, free_port(), free_port() if grpc else None),
            "LOG_LEVEL": "debug",
        }
        env.update(overrides)
        standin = Standin(
            standin_binary, tmp_path / f"standin-{len(started)}.log", env, healthprobe
        )
        started.append(standin)
        return standin

    yield start
    for standin in started:
        standin.kill()


def test_healthy_with_real_mongodb_and_redis(
    run_standin, redis_server, ferretdb_uri, mongo_client, fresh_db_name
):
    standin = run_standin(
        SERVICE_NAME="user-service",
        MONGODB_URI=ferretdb_uri,
        MONGODB_DATABASE=fresh_db_name,
        REDIS_URL=redis_server.url,
    )

    status, body = standin.health()
    assert (status, body) == (
        200,
        {"status": "ok", "service": "user-service", "checks": {"mongodb": "ok", "redis": "ok"}},
    )
    assert standin.get("/ready")[0] == 200
    for path in ("/ready", "/health"):
        probe = standin.probe(path, grpc=True)
        assert (probe.returncode, probe.stderr) == (0, ""), path

    # The MongoDB connection is real: the start is a document in service_starts.
    starts = mongo_client[fresh_db_name]["service_starts"]
    start = eventually(
        lambda: starts.find_one({"pid": standin.proc.pid}),
        10,
        "the start was not recorded in service_starts",
    )
    assert start["service"] == "user-service"
    assert start["environment"] == "development"

    # The Redis connection is real: the server lists the stand-in's named connection.
    clients = redis_server.container.exec_run(["redis-cli", "CLIENT", "LIST"]).output.decode()
    assert "name=user-service" in clients

    status, root = standin.get("/")
    assert status == 200 and json.loads(root)["service"] == "user-service"

    records = standin.log_records()  # every line is JSON
    assert records[0]["msg"] == "listening" and records[0]["service"] == "user-service"
    assert any(r["msg"] == "request" and r["path"] == "/health" for r in records)


@pytest.mark.parametrize(
    "service, keys, grpc",
    [
        # A service with gRPC: <PREFIX>_HTTP_PORT and <PREFIX>_PORT (gRPC), as go-shared reads.
        ("auth-service", ("AUTH_SERVICE_HTTP_PORT", "AUTH_SERVICE_PORT"), True),
        # One without: <PREFIX>_PORT is its HTTP port.
        ("api-gateway", ("API_GATEWAY_PORT", None), False),
    ],
)
def test_reads_the_env_file_in_its_working_directory(
    standin_binary,
    healthprobe,
    redis_server,
    ferretdb_uri,
    mongo_client,
    fresh_db_name,
    tmp_path,
    service,
    keys,
    grpc,
):
    """As the platform's services do (go-shared): the .env in the working directory, with
    the environment winning over the file's keys."""
    http_port, grpc_port = free_port(), free_port() if grpc else None
    ports = {keys[0]: http_port} | ({keys[1]: grpc_port} if grpc else {})
    workdir = tmp_path / "app"
    workdir.mkdir()
    (workdir / ".env").write_text(
        "# as the workspace_env module writes it\n"
        + "".join(f"{key}={value}\n" for key, value in ports.items())
        + f"MONGODB_URI={ferretdb_uri}\n"
        + "MONGODB_DATABASE=not-this-one\n"
        + "REDIS_HOST=127.0.0.1\n"
        + f"REDIS_PORT={redis_server.port}\n"
        + "REDIS_URL=redis://${REDIS_HOST}:${REDIS_PORT}/0\n"
    )
    env = {"PATH": "/usr/bin:/bin", "SERVICE_NAME": service, "MONGODB_DATABASE": fresh_db_name}
    standin = Standin(
        standin_binary, tmp_path / "standin.log", env, healthprobe, workdir, (http_port, grpc_port)
    )
    try:
        assert standin.health() == (
            200,
            {"status": "ok", "service": service, "checks": {"mongodb": "ok", "redis": "ok"}},
        )
        assert standin.probe("/ready").returncode == 0
        assert (standin.probe(None, grpc=True).returncode == 0) is grpc
        # The environment's MONGODB_DATABASE won over the file's: the start is recorded there.
        starts = mongo_client[fresh_db_name]["service_starts"]
        start = eventually(
            lambda: starts.find_one({"pid": standin.proc.pid}), 10, "no start in service_starts"
        )
        assert start["service"] == service
    finally:
        standin.kill()


def test_redis_down_then_back(run_standin, redis_server, ferretdb_uri):
    standin = run_standin(MONGODB_URI=ferretdb_uri, REDIS_URL=redis_server.url)
    assert standin.health()[0] == 200

    redis_server.stop()
    started = time.monotonic()
    status, body = standin.health()
    elapsed = time.monotonic() - started
    assert status == 503
    assert body["status"] == "unhealthy" and body["service"] == "auth-service"
    assert body["checks"]["mongodb"] == "ok"
    assert body["checks"]["redis"] != "ok" and str(redis_server.port) in body["checks"]["redis"]
    assert elapsed < 3, f"a health check with Redis down took {elapsed:.1f}s"

    probe = standin.probe("/ready")
    # The probe's one line names the status and the check that failed (the body's start).
    assert probe.returncode == 1 and "/ready answered 503" in probe.stderr, probe.stderr
    assert "unhealthy" in probe.stderr and "redis" in probe.stderr, probe.stderr
    grpc = standin.probe(None, grpc=True)
    assert grpc.returncode == 1 and "NOT_SERVING" in grpc.stderr
    assert standin.proc.poll() is None, "the stand-in must not exit when Redis goes away"

    redis_server.start()
    healthy = {"status": "ok", "service": "auth-service"}
    eventually(
        lambda: standin.health() == (200, {**healthy, "checks": {"mongodb": "ok", "redis": "ok"}}),
        15,
        "/health did not answer 200 again after Redis came back",
    )
    assert standin.probe("/ready", grpc=True).returncode == 0


def test_starts_and_stays_up_with_both_databases_down(run_standin):
    mongo_port, redis_port = closed_port(), closed_port()
    standin = run_standin(
        MONGODB_URI=f"mongodb://127.0.0.1:{mongo_port}/",
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
    )
    status, body = standin.health()
    assert status == 503
    assert str(mongo_port) in body["checks"]["mongodb"]
    assert str(redis_port) in body["checks"]["redis"]
    time.sleep(2.5)  # the start recorder retries every 2 s: it must not crash the process
    assert standin.proc.poll() is None
    assert any("cannot record the start" in r["msg"] for r in standin.log_records())


def test_standin_checks_selects_the_checks(run_standin, redis_server):
    down = f"mongodb://127.0.0.1:{closed_port()}/"
    only_redis = run_standin(
        SERVICE_NAME="api-gateway",
        MONGODB_URI=down,
        REDIS_URL=redis_server.url,
        STANDIN_CHECKS="redis",
        grpc=False,
    )
    assert only_redis.health() == (
        200,
        {"status": "ok", "service": "api-gateway", "checks": {"redis": "ok"}},
    )
    assert only_redis.probe("/ready").returncode == 0

    none = run_standin(MONGODB_URI=down, STANDIN_CHECKS="")
    assert none.health() == (200, {"status": "ok", "service": "auth-service", "checks": {}})


def test_fail_health_makes_every_health_check_fail(run_standin, redis_server, ferretdb_uri):
    standin = run_standin(
        SERVICE_NAME="tenant-service",
        MONGODB_URI=ferretdb_uri,
        REDIS_URL=redis_server.url,
        STANDIN_FAIL_HEALTH="true",
    )
    assert standin.health() == (
        503,
        {"status": "failing", "service": "tenant-service", "reason": "STANDIN_FAIL_HEALTH is set"},
    )
    assert standin.get("/ready")[0] == 503
    assert standin.probe("/ready").returncode == 1
    assert standin.probe("/health").returncode == 1
    assert standin.probe(None, grpc=True).returncode == 1


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AUTH_SERVICE_HTTP_PORT", "eighty"),
        ("AUTH_SERVICE_PORT", "70000"),
        ("STANDIN_FAIL_HEALTH", "maybe"),
        ("STANDIN_CHECKS", "mongodb,rabbitmq"),
        ("MONGODB_MAX_IDLE_TIME", "a minute"),
    ],
)
def test_bad_setting_stops_it_with_a_message_naming_the_variable(standin_binary, variable, value):
    env = {
        "PATH": "/usr/bin:/bin",
        "SERVICE_NAME": "auth-service",
        **port_env("auth-service", free_port(), free_port()),
        variable: value,
    }
    done = subprocess.run(
        [str(standin_binary)], env=env, capture_output=True, text=True, timeout=15, check=False
    )
    assert done.returncode == 2
    assert f'{variable}="{value}"' in done.stderr


SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r"(?:\{(?P<labels>[^}]*)\})?"
    r" (?P<value>[-+]?(?:[0-9.]+(?:e[-+]?[0-9]+)?|Inf|NaN))(?: [0-9]+)?$"
)
LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_prometheus(text: str) -> tuple[dict[str, str], list[tuple[str, dict, float]]]:
    """Parse the Prometheus text format strictly: ({name: type}, [(name, labels, value)])."""
    types: dict[str, str] = {}
    samples = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in {"counter", "gauge", "histogram", "summary", "untyped"}, line
            types[name] = kind
            continue
        if line.startswith("# HELP "):
            continue
        match = SAMPLE.match(line)
        assert match, f"line {number} is not a Prometheus sample: {line!r}"
        labels = dict(LABEL_PAIR.findall(match["labels"] or ""))
        samples.append((match["name"], labels, float(match["value"])))
    return types, samples


def value(samples, name: str, **labels: str) -> float:
    found = [v for n, lab, v in samples if n == name and labels.items() <= lab.items()]
    assert len(found) == 1, f"{name}{labels}: {len(found)} samples"
    return found[0]


def test_metrics_count_requests(run_standin, redis_server, ferretdb_uri):
    standin = run_standin(
        SERVICE_NAME="notification-service",
        MONGODB_URI=ferretdb_uri,
        REDIS_URL=redis_server.url,
    )
    for _ in range(3):
        assert standin.health()[0] == 200
    assert standin.probe(None, grpc=True).returncode == 0
    redis_server.stop()
    assert standin.health()[0] == 503
    assert standin.get("/no/such/page")[0] == 404

    status, text = standin.get("/metrics")
    assert status == 200
    types, samples = parse_prometheus(text)
    svc = {"service": "notification-service"}
    assert (
        value(samples, "http_requests_total", **svc, method="GET", path="/health", status="200")
        == 3
    )
    assert (
        value(samples, "http_requests_total", **svc, method="GET", path="/health", status="503")
        == 1
    )
    # Unknown URLs share one series, whatever the path.
    assert value(samples, "http_requests_total", **svc, path="unmatched", status="404") == 1
    assert value(samples, "http_request_duration_seconds_count", **svc, path="/health") == 4
    assert value(samples, "http_response_size_bytes_count", **svc, path="/health") == 4
    grpc_method = "/grpc.health.v1.Health/Check"
    assert value(samples, "grpc_server_handled_total", grpc_method=grpc_method, grpc_code="OK") == 1
    assert value(samples, "grpc_server_handling_seconds_count", grpc_method=grpc_method) == 1
    assert types["http_requests_total"] == "counter"
    assert types["http_request_duration_seconds"] == "histogram"
    for name in ("user_registrations_total", "login_attempts_total", "notifications_sent_total"):
        assert types[name] == "counter" and value(samples, name, **svc) == 0
    assert value(samples, "go_goroutines") > 0
    assert value(samples, "go_memstats_alloc_bytes") > 0
    assert value(samples, "process_cpu_seconds_total") >= 0


def test_sigterm_stops_it_gracefully(run_standin, redis_server, ferretdb_uri):
    standin = run_standin(MONGODB_URI=ferretdb_uri, REDIS_URL=redis_server.url)
    assert standin.health()[0] == 200
    code, seconds = standin.terminate()
    assert code == 0
    assert seconds < 5, f"SIGTERM took {seconds:.1f}s"
    messages = [r["msg"] for r in standin.log_records()]
    assert messages[-2:] == ["signal received; shutting down", "stopped"]


def test_runs_unprivileged_in_a_debian_container(
    engine, container_label, standin_binary, healthprobe
):
    """The static binary runs in the bare Debian image, as an unprivileged user, and the
    health probe beside it (as in a local service image) finds it ready."""
    container = engine.containers.run(
        BASE_IMAGE,
        ["/server"],
        detach=True,
        labels=container_label,
        user="65534:65534",
        environment={
            "SERVICE_NAME": "system-config-service",
            **port_env("system-config-service", 8085, 50055),
            "STANDIN_CHECKS": "",
        },
        volumes={
            str(standin_binary): {"bind": "/server", "mode": "ro"},
            str(healthprobe): {"bind": "/usr/local/bin/healthprobe", "mode": "ro"},
        },
    )
    try:

        def probe():
            result = container.exec_run(
                ["healthprobe", "-http", "http://127.0.0.1:8085/ready"], user="65534"
            )
            if result.exit_code != 0:
                raise AssertionError(result.output.decode(errors="replace"))
            return result

        eventually(probe, 15, "the stand-in in the container did not become healthy")
        grpc = container.exec_run(["healthprobe", "-grpc", "127.0.0.1:50055"], user="65534")
        assert grpc.exit_code == 0, grpc.output
        container.stop(timeout=5)
        container.reload()
        assert container.attrs["State"]["ExitCode"] == 0
        first = json.loads(container.logs().decode().splitlines()[0])
        assert first["uid"] == 65534 and first["service"] == "system-config-service"
    finally:
        container.remove(force=True)


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()


def test_fixture_repositories_clone_and_build(tmp_path, healthprobe, go_build):
    """One repository per service of the catalog, laid out as its entry says (auth's module
    in server/, tenant's main in cmd/tenant), and the library's: each clone builds against
    the library's clone beside it and runs."""
    catalog = {s["repository"]: s for s in standin_fixtures._catalog()}
    services = standin_fixtures.catalog_services(field="repository")
    assert len(services) == 6 and services[1] == "go-auth-service"
    remotes = tmp_path / "remotes"
    repos = standin_fixtures.make_service_repositories(remotes, services)
    repos["demo-shared"] = standin_fixtures.make_library_repository(remotes)
    assert repos == {name: (remotes / f"{name}.git").resolve() for name in repos}
    base = standin_fixtures.base_url(remotes)
    heads = {name: git("rev-parse", "main", cwd=repo) for name, repo in repos.items()}

    # Making them again changes nothing.
    standin_fixtures.make_library_repository(remotes)
    assert standin_fixtures.make_service_repositories(remotes, services) == {
        n: r for n, r in repos.items() if n in services
    }
    assert {name: git("rev-parse", "main", cwd=repo) for name, repo in repos.items()} == heads

    clones = tmp_path / "clones"
    git("clone", "--quiet", f"{base}/demo-shared.git", str(clones / "demo-shared"))
    assert (clones / "demo-shared/ports/ports.go").is_file()
    for name in services:
        clone = clones / name
        git("clone", "--quiet", f"{base}/{name}.git", str(clone))
        assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=clone) == "main"
        readme = (clone / "README.md").read_text()
        assert readme.startswith(f"# {name}\n")
        build = catalog[name]["build"]
        module = clone / build.get("module_dir", ".")
        assert "FROM golang:" in (module / "Dockerfile").read_text()
        assert (module / "go.sum").read_text() == (SOURCE / "go.sum").read_text()
        assert (module / build["package"] / "main.go").is_file()
        binary = tmp_path / "bin" / name / "server"
        binary.parent.mkdir(parents=True)
        go_build(module, binary, build["package"], clones / "demo-shared")
        # The build is real and runs: it answers /ready (no checks apply) to the probe.
        service = catalog[name]["name"]
        env = {
            "SERVICE_NAME": service,
            **port_env(service, free_port(), catalog[name]["grpc_port"] and free_port()),
            "STANDIN_CHECKS": "",
        }
        standin = Standin(binary, tmp_path / f"{name}.log", env, healthprobe)
        try:
            probe = standin.probe("/ready")
            assert (probe.returncode, probe.stderr) == (0, ""), name
        finally:
            standin.kill()

    verify = subprocess.run(
        [GO, "mod", "verify"],
        cwd=clones / services[0],
        env=dict(os.environ, GOWORK=str(tmp_path / "bin" / services[0] / "go.work")),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert verify.returncode == 0 and "all modules verified" in verify.stdout, verify.stderr


def test_changed_source_is_pushed_as_a_fast_forward(tmp_path):
    remotes = tmp_path / "remotes"
    bare = standin_fixtures.make_service_repository(remotes, "auth-service")
    first = git("rev-parse", "main", cwd=bare)
    clone = tmp_path / "clone"
    git("clone", "--quiet", str(bare), str(clone))

    standin_fixtures.make_service_repository(
        remotes, "auth-service", {"Dockerfile": "FROM scratch\n"}
    )
    second = git("rev-parse", "main", cwd=bare)
    assert second != first
    assert git("rev-parse", "main~1", cwd=bare) == first
    git("pull", "--quiet", "--ff-only", cwd=clone)
    assert (clone / "Dockerfile").read_text() == "FROM scratch\n"

    with pytest.raises(ValueError, match="user-service"):
        standin_fixtures.make_service_repositories(
            remotes, ["auth-service"], {"user-service": {"x": "y"}}
        )
