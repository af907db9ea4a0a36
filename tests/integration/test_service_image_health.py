"""A local service image as the stack role builds it (its compile and build-services tasks:
go_build, the Dockerfile, docker build), healthy by the health probe it carries and by
nothing of the service's own. The image is the stand-in's, under a namespace of this test
(the Debian base tagged into it), run with no published port: Docker runs the image's
HEALTHCHECK inside the container. No compose project and no fixed port, so it needs no
stack lock."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path

import pytest

BASE_IMAGE = "vhvcorp-local/debian:bookworm"
PROBE = ["/usr/local/bin/healthprobe", "-http", "http://127.0.0.1:8081/ready"]
PROBE_GRPC = [*PROBE, "-grpc", "127.0.0.1:50051"]
RECIPE = "org.vhvcorp.devtools.recipe"


@pytest.fixture(scope="module")
def built(
    engine,
    tmp_path_factory,
    repo_root,
    playbook,
    stack_build_play,
    one_service_stack,
    standin_fixtures,
):
    """auth-service's image, built from a copy of the stand-in where the catalog has the
    real one (go-auth-service/server), its library beside it; the play and its options."""
    root = tmp_path_factory.mktemp("image")
    workspace = root / "ws"
    files = repo_root / "roles/stack/files"
    shutil.copytree(files / "demo-service", workspace / "go-auth-service/server")
    shutil.copytree(files / "demo-shared", workspace / "demo-shared")
    (workspace / ".env").write_text("LOG_LEVEL=info\n")
    namespace = f"probetest-{uuid.uuid4().hex[:8]}"
    engine.images.get(BASE_IMAGE).tag(f"{namespace}/debian", "bookworm")
    options = {
        **one_service_stack(workspace, namespace),
        # The catalog's auth-service generates code from server/proto; the stand-in has none.
        "stack_generate": False,
        "stack_libraries": [standin_fixtures.DEMO_LIBRARY],
    }
    made = {"play": stack_build_play, "options": options, "image": f"{namespace}/auth-service"}
    build(playbook, made)
    yield made
    for image in (f"{namespace}/auth-service:latest", f"{namespace}/debian:bookworm"):
        engine.images.remove(image, force=True)


def build(playbook, built: dict, **over) -> None:
    done = playbook(str(built["play"]), "-e", json.dumps({**built["options"], **over}))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def health(container, until: str, timeout: float = 60) -> dict:
    """The container's State.Health once its status is `until`."""
    deadline = time.monotonic() + timeout
    while True:
        container.reload()
        state = container.attrs["State"]["Health"]
        if state["Status"] == until or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert state["Status"] == until, state
    return state


def run(engine, container_label, image: str, **env: str):
    """The image with the stand-in's settings, its health check every second (the image's
    test: Docker keeps it when only the timing is given)."""
    return engine.containers.run(
        image,
        detach=True,
        labels=container_label,
        environment={"AUTH_SERVICE_HTTP_PORT": "8081", "AUTH_SERVICE_PORT": "50051", **env},
        healthcheck={"interval": 1_000_000_000, "timeout": 3_000_000_000, "retries": 3},
    )


def test_the_image_is_healthy_by_the_probe_and_unhealthy_saying_why(engine, container_label, built):
    # Built through the go.work the role wrote for it: the library is the workspace's clone.
    workspace = built["options"]["stack_workspace_dir"]
    workfile = (Path(workspace) / "deploy/build/auth-service/go.work").read_text()
    assert f"\nuse {workspace}/go-auth-service/server\n" in workfile
    assert f"\nreplace github.com/vhvcorp/demo-shared => {workspace}/demo-shared\n" in workfile
    image = engine.images.get(built["image"])
    # auth-service has grpc_health: true, so the probe asks /ready and gRPC health.
    assert image.attrs["Config"]["Healthcheck"]["Test"] == ["CMD", *PROBE_GRPC]
    assert image.labels[RECIPE]

    ready = run(engine, container_label, built["image"], STANDIN_CHECKS="")
    assert ready.attrs["Config"]["Healthcheck"]["Test"] == ["CMD", *PROBE_GRPC]
    state = health(ready, "healthy")
    assert state["Log"][-1]["ExitCode"] == 0 and state["Log"][-1]["Output"] == ""

    # Databases the stand-in cannot reach: /ready answers 503 and gRPC NOT_SERVING, and the
    # probe's line (in `docker inspect`) says so.
    down = run(
        engine,
        container_label,
        built["image"],
        MONGODB_URI="mongodb://127.0.0.1:1/",
        REDIS_URL="redis://127.0.0.1:1/0",
    )
    state = health(down, "unhealthy")
    line = state["Log"][-1]["Output"].strip()
    assert state["Log"][-1]["ExitCode"] == 1
    assert line.startswith(
        "healthprobe: GET http://127.0.0.1:8081/ready answered 503 Service Unavailable: "
    ), line
    assert line.endswith("; gRPC health of 127.0.0.1:50051 answered NOT_SERVING"), line


def test_a_changed_probe_changes_the_recipe_and_the_image(
    playbook, built, engine, tmp_path, repo_root
):
    image = engine.images.get(built["image"])
    build(playbook, built)  # the same sources: the same image
    assert engine.images.get(built["image"]).id == image.id

    probe = tmp_path / "healthprobe"
    shutil.copytree(repo_root / "roles/stack/files/healthprobe", probe)
    main = probe / "main.go"
    assert "const bodyExcerpt = 200\n" in main.read_text()
    main.write_text(
        main.read_text().replace("const bodyExcerpt = 200\n", "const bodyExcerpt = 300\n")
    )
    build(playbook, built, stack_health_probe_dir=str(probe))
    changed = engine.images.get(built["image"])
    assert changed.id != image.id
    assert changed.labels[RECIPE] != image.labels[RECIPE]

    build(playbook, built)  # the role's own probe again: its recipe again
    assert engine.images.get(built["image"]).labels[RECIPE] == image.labels[RECIPE]
