"""start-dev.yml with the local image source: a stand-in service runs from its mounted clone
in the local Go image (the go_toolchain role's Go release and air, no registry), and an edit
of a handler in the clone is served after air rebuilds it, with no image built and the
container not recreated.

One service (auth-service, its clone of go-auth-service made from a stand-in bare
repository, the Go module in server/ as the catalog says) on MongoDB (FerretDB) and Redis,
project vhvcorp-devtest, host ports offset by 3000. Only 127.0.0.1 and the containers it
started are contacted; the dev container reads modules from this machine's module cache with
the module proxy off. Run under `flock /tmp/devtools-stack.lock`.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import standin_fixtures  # tests/: pythonpath

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = "vhvcorp-devtest"
OFFSET = 3000  # gRPC 50051 + offset must stay below 65536
SERVICE = "auth-service"
REPOSITORY = "go-auth-service"
URL = f"http://127.0.0.1:{8081 + OFFSET}/"
HANDLER = Path("server/internal/server/server.go")  # in the clone: the module is server/
GO_IMAGE = "vhvcorp-local/golang:bookworm"


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def root_document() -> dict | None:
    try:
        with urllib.request.urlopen(URL, timeout=5) as answer:  # noqa: S310 - 127.0.0.1 only
            return json.load(answer)
    except (urllib.error.URLError, ConnectionError, json.JSONDecodeError):
        return None


@pytest.fixture(scope="module")
def dev_stack(playbook, make_workspace, tmp_path_factory, remove_compose_project):
    root = tmp_path_factory.mktemp("dev")
    workspace = root / "ws"
    bare = standin_fixtures.make_service_repositories(root / "git", [REPOSITORY])[REPOSITORY]
    library = standin_fixtures.make_library_repository(root / "git")
    standin_fixtures.gf.git("clone", "--quiet", str(bare), str(workspace / REPOSITORY))
    standin_fixtures.gf.git("clone", "--quiet", str(library), str(workspace / "demo-shared"))
    make_workspace(workspace)
    options = [
        "-e", f"workspace={workspace}",
        "-e", "image_source=local",
        "-e", "profile=custom",
        "-e", json.dumps({"services": [SERVICE],
                          "devtools_stack_custom_components": ["mongodb", "redis"],
                          "devtools_libraries": [standin_fixtures.DEMO_LIBRARY],
                          # auth's protoc step is the real repository's; the stand-in has
                          # all its code.
                          "devtools_stack_generate": False}),
        "-e", f"devtools_stack_project={PROJECT}",
        "-e", f"devtools_stack_port_offset={OFFSET}",
    ]  # fmt: skip
    started = time.monotonic()
    up = playbook("start-dev.yml", *options, timeout=None)
    print(f"start-dev to all-healthy: {time.monotonic() - started:.1f}s")
    try:
        if up.returncode != 0:
            logs = subprocess.run(
                ["docker", "logs", "--tail", "40", f"{PROJECT}-{SERVICE}"],
                capture_output=True,
                text=True,
                check=False,
            )
            pytest.fail(up.stdout[-5000:] + up.stderr[-2000:] + logs.stdout + logs.stderr)
        yield {"workspace": workspace, "options": options, "clone": workspace / REPOSITORY}
    finally:
        remove_compose_project(PROJECT)


def test_start_dev_runs_the_service_from_its_clone_in_the_local_go_image(dev_stack):
    container = f"{PROJECT}-{SERVICE}"
    image, health = docker(
        "inspect", "-f", "{{.Config.Image}} {{.State.Health.Status}}", container
    ).split()
    assert (image, health) == (GO_IMAGE, "healthy")
    mounts = json.loads(docker("inspect", "-f", "{{json .Mounts}}", container))
    sources = {m["Destination"]: (m["Source"], m["RW"]) for m in mounts}
    assert sources[str(dev_stack["clone"])] == (str(dev_stack["clone"]), True)
    assert sources["/gomodcache"][1] is False  # the module cache, read-only
    document = root_document()
    assert document and document["service"] == SERVICE and document["standin"] is True


def test_an_edited_handler_is_served_without_an_image_rebuild(dev_stack):
    container = f"{PROJECT}-{SERVICE}"
    before = docker("inspect", "-f", "{{.Id}} {{.State.StartedAt}} {{.Image}}", container)
    marker = uuid.uuid4().hex
    handler = dev_stack["clone"] / HANDLER
    source = handler.read_text()
    anchor = '"standin":     true,'
    assert anchor in source
    handler.write_text(source.replace(anchor, f'{anchor}\n\t\t"edited": "{marker}",'))
    started = time.monotonic()
    deadline = started + 240  # a rebuild by air on a busy two-core machine
    document = None
    while time.monotonic() < deadline:
        document = root_document()
        if document and document.get("edited") == marker:
            break
        time.sleep(1)
    assert document and document.get("edited") == marker, (
        document,
        docker("logs", "--tail", "40", container),
    )
    print(f"edit to served: {time.monotonic() - started:.1f}s")
    # The same container (not recreated, not restarted by Docker) on the same Go image:
    # the new handler was built by air inside it, not into an image.
    assert docker("inspect", "-f", "{{.Id}} {{.State.StartedAt}} {{.Image}}", container) == before
    assert docker("image", "inspect", "-f", "{{.Id}}", GO_IMAGE).strip() == before.split()[-1]
