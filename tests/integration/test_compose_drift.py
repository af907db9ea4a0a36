"""compose_drift against a real Compose project: each drift `up` would repair is seen.

A project of its own (no ports published, a name no other test uses) of two containers on
the local Debian image, brought up with the real `docker compose up --wait`.
"""

import subprocess
import uuid
from pathlib import Path

import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils.compose_drift import (
    ComposeDriftError,
    compose_drift,
)

IMAGE = "vhvcorp-local/debian:bookworm"
COMPOSE = f"""
services:
  app:
    image: {IMAGE}
    command: [sleep, infinity]
    environment:
      GREETING: ${{GREETING}}
    healthcheck:
      test: [CMD, "true"]
      interval: 1s
  worker:
    image: {IMAGE}
    command: [sleep, infinity]
"""


@pytest.fixture
def project(tmp_path: Path):
    name = f"drift-{uuid.uuid4().hex[:8]}"
    (tmp_path / "compose.yml").write_text(COMPOSE)
    (tmp_path / ".env").write_text("GREETING=hello\n")
    yield name, tmp_path
    subprocess.run(
        [
            "docker",
            "compose",
            "-p",
            name,
            "--env-file",
            str(tmp_path / ".env"),
            "down",
            "--remove-orphans",
            "--timeout",
            "0",
        ],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    subprocess.run(
        ["docker", "image", "rm", "--force", f"{name}-image:test"], capture_output=True, check=False
    )


def compose(name: str, where: Path, *argv: str) -> None:
    subprocess.run(
        ["docker", "compose", "-p", name, "--env-file", str(where / ".env"), *argv],
        cwd=where,
        check=True,
        capture_output=True,
    )


def drift(name: str, where: Path) -> list:
    _, found = compose_drift("docker", name, str(where), ["compose.yml"], [str(where / ".env")])
    return found


def test_every_drift_is_seen_and_up_clears_it(project):
    name, where = project
    assert drift(name, where) == [
        {"service": "app", "reason": "no container"},
        {"service": "worker", "reason": "no container"},
    ]
    compose(name, where, "up", "--detach", "--wait")
    hashes, found = compose_drift(
        "docker", name, str(where), ["compose.yml"], [str(where / ".env")]
    )
    assert found == [] and set(hashes) == {"app", "worker"}

    # A stopped container.
    compose(name, where, "stop", "--timeout", "0", "worker")
    assert drift(name, where) == [{"service": "worker", "reason": "not running (exited)"}]
    compose(name, where, "up", "--detach", "--wait")
    assert drift(name, where) == []

    # A changed .env: the configuration of the service that reads it differs.
    (where / ".env").write_text("GREETING=bonjour\n")
    assert drift(name, where) == [{"service": "app", "reason": "configuration changed"}]
    compose(name, where, "up", "--detach", "--wait")
    assert drift(name, where) == []

    # The image its reference names was rebuilt (another id) or removed.
    (where / "compose.yml").write_text(COMPOSE.replace(IMAGE, f"{name}-image:test"))
    subprocess.run(["docker", "tag", IMAGE, f"{name}-image:test"], check=True)
    compose(name, where, "up", "--detach", "--wait")
    assert drift(name, where) == []
    (where / "Dockerfile").write_text(f"FROM {IMAGE}\nLABEL rebuilt=yes\n")
    subprocess.run(
        ["docker", "build", "-q", "-t", f"{name}-image:test", str(where)],
        check=True,
        capture_output=True,
    )
    assert {d["reason"] for d in drift(name, where)} == {f"image {name}-image:test changed"}
    subprocess.run(
        ["docker", "image", "rm", "--force", f"{name}-image:test"], check=True, capture_output=True
    )
    assert {d["reason"] for d in drift(name, where)} == {f"image {name}-image:test missing"}

    # A service gone from the files leaves an orphan.
    (where / "compose.yml").write_text(COMPOSE.split("  worker:")[0])
    assert {"service": "worker", "reason": "orphan: no longer in the files"} in drift(name, where)


def test_a_broken_compose_file_is_an_error_that_says_so(project):
    name, where = project
    (where / "compose.yml").write_text("services: [\n")
    with pytest.raises(ComposeDriftError, match="config --hash"):
        drift(name, where)
