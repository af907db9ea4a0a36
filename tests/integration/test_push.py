"""push.yml as users type it, to a registry of the test's own on 127.0.0.1 (Debian's
docker-registry, installed by the harness, with a temporary storage directory), the pushed
tags read back through the registry's HTTP API (/v2/<name>/tags/list). The service image is
the local Debian base tagged as auth-service's image under a namespace of this test: push
tags and pushes what is there, and the build is tested elsewhere
(test_service_image_health.py)."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
import urllib.request
import uuid

import docker
import pytest

BASE_IMAGE = "vhvcorp-local/debian:bookworm"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def registry(tmp_path):
    """A docker-registry on a free 127.0.0.1 port; its address (HOST:PORT)."""
    port = free_port()
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


def tags(registry: str, name: str) -> list[str]:
    with urllib.request.urlopen(f"http://{registry}/v2/{name}/tags/list", timeout=10) as answer:
        return sorted(json.load(answer)["tags"])


def test_push_tags_the_service_images_into_the_registry(
    playbook, engine, registry, tmp_path, one_service_stack
):
    namespace = f"pushtest-{uuid.uuid4().hex[:8]}"
    image = f"{namespace}/auth-service"
    engine.images.get(BASE_IMAGE).tag(image, "latest")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / ".env").write_text("LOG_LEVEL=info\n")
    options = one_service_stack(workspace, namespace)
    try:
        pushed = playbook(
            "push.yml", "-e", json.dumps(options), "-e", f"registry={registry}", "-e", "tag=v1"
        )
        assert pushed.returncode == 0, pushed.stdout[-4000:]
        assert tags(registry, image) == ["v1"]
        own = playbook("push.yml", "-e", json.dumps(options), "-e", f"registry={registry}")
        assert own.returncode == 0, own.stdout[-4000:]
        assert tags(registry, image) == ["latest", "v1"]

        nowhere = playbook("push.yml", "-e", json.dumps(options))
        assert nowhere.returncode != 0
        assert "Say where to push" in nowhere.stdout
    finally:
        for name in (f"{image}:latest", f"{registry}/{image}:v1", f"{registry}/{image}:latest"):
            with contextlib.suppress(docker.errors.ImageNotFound):  # a tag the run did not make
                engine.images.remove(name)
