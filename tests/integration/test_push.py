"""push.yml as users type it, to a registry of the test's own on 127.0.0.1 (Debian's
docker-registry, installed by the harness, with a temporary storage directory), the pushed
tags read back through the registry's HTTP API (/v2/<name>/tags/list). The service image is
the local Debian base tagged as auth-service's image under a namespace of this test: push
tags and pushes what is there, and the build is tested elsewhere
(test_service_image_health.py)."""

from __future__ import annotations

import contextlib
import json
import uuid

import docker

BASE_IMAGE = "vhvcorp-local/debian:bookworm"


def test_push_tags_the_service_images_into_the_registry(
    playbook, engine, registry, registry_tags, tmp_path, one_service_stack
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
        assert registry_tags(registry, image) == ["v1"]
        own = playbook("push.yml", "-e", json.dumps(options), "-e", f"registry={registry}")
        assert own.returncode == 0, own.stdout[-4000:]
        assert registry_tags(registry, image) == ["latest", "v1"]

        nowhere = playbook("push.yml", "-e", json.dumps(options))
        assert nowhere.returncode != 0
        assert "Say where to push" in nowhere.stdout
    finally:
        for name in (f"{image}:latest", f"{registry}/{image}:v1", f"{registry}/{image}:latest"):
            with contextlib.suppress(docker.errors.ImageNotFound):  # a tag the run did not make
                engine.images.remove(name)
