"""Fixtures that hand integration tests the harness's real services."""

import importlib.util
import json
import os
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pymongo
import pytest
import standin_fixtures as _standin_fixtures  # tests/: pythonpath
from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_build import (
    go_mod_directives,
    workfile_text,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def ferretdb_uri(harness_state: dict) -> str:
    """URI of the long-running FerretDB the harness started on 127.0.0.1."""
    uri = harness_state["ferretdb"]["uri"]
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=3000)
    try:
        client.admin.command("ping")
    except pymongo.errors.PyMongoError as exc:
        pytest.fail(f"FerretDB at {uri} does not answer ({exc}); rerun `make harness`.")
    finally:
        client.close()
    return uri


@pytest.fixture
def mongo_client(ferretdb_uri: str) -> Iterator[pymongo.MongoClient]:
    client = pymongo.MongoClient(ferretdb_uri, serverSelectionTimeoutMS=3000)
    yield client
    client.close()


@pytest.fixture
def fresh_db_name(mongo_client: pymongo.MongoClient) -> Iterator[str]:
    """A database name no other test uses; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    mongo_client.drop_database(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateFerretDB:
    """A FerretDB process of a test's own, for tests that kill or wipe the server."""

    def __init__(self, binary: str, data_dir: Path, log_path: Path):
        self.binary = binary
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = _free_port()
        self.uri = f"mongodb://127.0.0.1:{self.port}/"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 15.0) -> "PrivateFerretDB":
        env = dict(os.environ, FERRETDB_TELEMETRY="disable")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "-listen", f"127.0.0.1:{self.port}", "-data-dir", str(self.data_dir)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"FerretDB exited early; see {self.log_path}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"FerretDB did not listen on {self.port} within {timeout}s")

    def kill(self) -> None:
        """SIGKILL: the server dies as in a crash, mid-operation."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def private_ferretdb(harness_state: dict, tmp_path: Path) -> Iterator[PrivateFerretDB]:
    """A started FerretDB on its own port and data directory (tmp_path), stopped afterwards."""
    server = PrivateFerretDB(
        harness_state["ferretdb"]["binary"], tmp_path / "ferretdb-data", tmp_path / "ferretdb.log"
    )
    server.start()
    yield server
    server.stop()


def _load(path: Path):
    """A module of tests/, loaded by path (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def standin_fixtures():
    """tests/standin_fixtures.py: the stand-in's bare repositories and its demo library."""
    return _standin_fixtures


@pytest.fixture(scope="session")
def paused_backup(repo_root: Path):
    """tests/integration/paused_backup.py."""
    return _load(repo_root / "tests" / "integration" / "paused_backup.py")


@pytest.fixture(scope="module")
def container_label(request) -> dict:
    """The label a test module puts on the containers it starts (removed after the module)."""
    return {"org.vhvcorp.devtools.test": request.module.__name__.rsplit(".", 1)[-1]}


@pytest.fixture(scope="module")
def engine(container_label: dict) -> Iterator[docker.DockerClient]:
    """The harness's Docker engine; the module's labelled containers are removed at its end."""
    client = docker.from_env()
    yield client
    # key=value: a bare key would match every test module's containers (another run's too).
    labels = [f"{key}={value}" for key, value in container_label.items()]
    for container in client.containers.list(all=True, filters={"label": labels}):
        container.remove(force=True)
    client.close()


GO = "/usr/local/go/bin/go"


def _go_build(src: Path, out: Path, package: str = "./cmd", library: Path | None = None) -> float:
    """`CGO_ENABLED=0 go build -trimpath -o out package` in src, with the machine's Go and
    its module cache; return the seconds it took. The demo library (the stand-in requires
    it through a replace written for another layout) resolves to `library` (default: the
    collection's roles/stack/files/demo-shared) through a go.work beside out, written as
    the stack role's go_build writes one."""
    if not os.access(GO, os.X_OK):
        pytest.fail(f"{GO} is missing: this machine's Go toolchain is part of the environment.")
    directives = go_mod_directives((src / "go.mod").read_text())
    workfile = out.parent / "go.work"
    library = library or _standin_fixtures.LIBRARY_DIR
    module = _standin_fixtures.DEMO_LIBRARY["module"]
    workfile.write_text(workfile_text(str(src), directives, {module: str(library)}))
    started = time.monotonic()
    done = subprocess.run(
        [GO, "build", "-trimpath", "-o", str(out), package],
        cwd=src,
        env=dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=readonly", GOWORK=str(workfile)),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"go build in {src} failed:\n{done.stderr}"
    return time.monotonic() - started


@pytest.fixture(scope="session")
def go_build():
    """_go_build: a static Go build of a source tree (a package of it) into a binary."""
    return _go_build


@pytest.fixture(scope="session")
def healthprobe(repo_root: Path, tmp_path_factory) -> Path:
    """The stack role's health probe (roles/stack/files/healthprobe), built static."""
    out = tmp_path_factory.mktemp("healthprobe") / "healthprobe"
    _go_build(repo_root / "roles" / "stack" / "files" / "healthprobe", out, ".")
    return out


STACK_BUILD_PLAY = """\
- name: Build the local images of the catalog's services as the stack role does.
  hosts: localhost
  gather_facts: false
  roles:
    - role: vhvcorp.devtools.stack
      stack_action: render
  tasks:
    - name: Compile them with the role's own tasks (generate, go build).
      ansible.builtin.include_role:
        name: vhvcorp.devtools.stack
        tasks_from: compile.yml
      vars:
        _stack_build_services: >-
          {{ _stack_catalog.containers | selectattr('kind', 'equalto', 'service') | list }}

    - name: Build their images with the role's own tasks (docker build).
      ansible.builtin.include_role:
        name: vhvcorp.devtools.stack
        tasks_from: build-services.yml
      vars:
        _stack_build_services: >-
          {{ _stack_catalog.containers | selectattr('kind', 'equalto', 'service') | list }}
"""


@pytest.fixture(scope="session")
def stack_build_play(tmp_path_factory) -> Path:
    """A play that renders the stack and builds its service images with build-services.yml
    (run it with the stack_* options of the images to build, as -e JSON)."""
    path = tmp_path_factory.mktemp("stack-build") / "build.yml"
    path.write_text(STACK_BUILD_PLAY)
    return path


def _one_service_stack(workspace: Path, namespace: str) -> dict:
    return {
        "stack_workspace_dir": str(workspace),
        "stack_image_source": "local",
        "stack_profile": "custom",
        "stack_custom_components": [],
        "stack_services": ["auth-service"],
        "stack_project": namespace,
        "stack_local_namespace": namespace,
        "stack_validate": False,
    }


@pytest.fixture(scope="session")
def one_service_stack():
    """(workspace, namespace) -> the stack role's options (extra vars) for auth-service
    alone, built locally, no infrastructure, its images and project under the namespace."""
    return _one_service_stack


@pytest.fixture
def registry(tmp_path) -> Iterator[str]:
    """A docker-registry (Debian's, installed by the harness) on a free 127.0.0.1 port, its
    storage in tmp_path; its address (HOST:PORT)."""
    port = _free_port()
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'storage'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    with open(tmp_path / "registry.log", "wb") as log:
        proc = subprocess.Popen(
            ["/usr/bin/docker-registry", "serve", str(config)], stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, (
                    tmp_path / "registry.log"
                ).read_text()
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _registry_tags(registry: str, name: str) -> list[str]:
    with urllib.request.urlopen(f"http://{registry}/v2/{name}/tags/list", timeout=10) as answer:
        return sorted(json.load(answer)["tags"])


@pytest.fixture(scope="session")
def registry_tags():
    """(registry, image name) -> the sorted tags the registry holds (its /v2 tags/list)."""
    return _registry_tags


def _make(target: str, env: dict | None = None, **variables) -> subprocess.CompletedProcess:
    """`make TARGET VAR=value ...` from the checkout, as users type it, with no terminal (so
    logs runs logs.yml) and env added to the environment; the output captured as text, the
    caller checks the return code."""
    return subprocess.run(
        ["make", "--no-print-directory", target, *(f"{k}={v}" for k, v in variables.items())],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )


@pytest.fixture(scope="session")
def make():
    """_make: `make("logs-auth-service", ARGS="-e ...")`."""
    return _make
