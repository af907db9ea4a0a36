# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Whether a Compose project runs exactly as its files say, so `up` would change nothing.

Why our own code: `docker compose up --wait` finds that out too, but takes seconds even when
nothing is to be done, and community.docker has no read-only check. Compose labels every
container with the hash of its service's resolved configuration (the files and the .env
interpolated into them) and the image id it was created from; `docker compose config
--hash` prints the hashes of the files as they are now. A service is in place when each
of its containers runs, is healthy (where it has a health check), carries the current
hash and runs the image its reference names now; the project is in place when every
service is and no container of a service that is gone is left (up removes orphans).
"""

from __future__ import annotations

import json
import subprocess

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
HASH_LABEL = "com.docker.compose.config-hash"
ONEOFF_LABEL = "com.docker.compose.oneoff"


class ComposeDriftError(Exception):
    """A docker command failed; the message names it and says what it answered."""


def parse_hashes(text):
    """{service: config hash} from the lines of `docker compose config --hash '*'`."""
    hashes = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            hashes[parts[0]] = parts[1]
    return hashes


def find_drift(hashes, containers, image_ids):
    """What differs between the files and the containers: a list of {service, reason}.

    hashes: {service: config hash} of the files; containers: `docker inspect` of the
    project's containers; image_ids: {image reference: id} of the images they name now
    (a reference missing from it names no image).
    """
    drift = []
    by_service = {}
    for container in containers:
        labels = container.get("Config", {}).get("Labels") or {}
        if labels.get(ONEOFF_LABEL) == "True":
            continue
        by_service.setdefault(labels.get(SERVICE_LABEL), []).append(container)
    for service in sorted(hashes):
        found = by_service.get(service, [])
        if not found:
            drift.append({"service": service, "reason": "no container"})
        for container in found:
            reason = _container_drift(container, hashes[service], image_ids)
            if reason:
                drift.append({"service": service, "reason": reason})
    for service in sorted(set(by_service) - set(hashes), key=str):
        drift.append({"service": service, "reason": "orphan: no longer in the files"})
    return drift


def _container_drift(container, config_hash, image_ids):
    state = container.get("State") or {}
    labels = container["Config"].get("Labels") or {}
    reference = container["Config"].get("Image")
    if labels.get(HASH_LABEL) != config_hash:
        return "configuration changed"
    if image_ids.get(reference) != container.get("Image"):
        return "image %s %s" % (reference, "changed" if reference in image_ids else "missing")
    if state.get("Status") != "running":
        return "not running (%s)" % state.get("Status")
    health = (state.get("Health") or {}).get("Status")
    if health not in (None, "healthy"):
        return "not healthy (%s)" % health
    return None


def _docker(argv, cwd=None, allow_missing=False):
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    # `docker image inspect` of references some of which are missing prints the others
    # and exits 1: a missing image is drift, not an error.
    if result.returncode != 0 and not (allow_missing and "No such" in result.stderr):
        raise ComposeDriftError(
            "`%s` failed (exit %d): %s"
            % (" ".join(argv), result.returncode, (result.stderr or result.stdout).strip())
        )
    return result.stdout


def compose_drift(docker, project, project_dir, files, env_files):
    """(hashes, drift) of a project, read with the docker CLI."""
    compose = [docker, "compose", "-p", project]
    for env_file in env_files:
        compose += ["--env-file", env_file]
    for name in files:
        compose += ["-f", name]
    hashes = parse_hashes(_docker(compose + ["config", "--hash", "*"], cwd=project_dir))
    ids = _docker(
        [
            docker,
            "ps",
            "--all",
            "--quiet",
            "--no-trunc",
            "--filter",
            "label=%s=%s" % (PROJECT_LABEL, project),
        ]
    ).split()
    containers = json.loads(_docker([docker, "inspect"] + ids)) if ids else []
    references = sorted({c["Config"].get("Image") for c in containers if c["Config"].get("Image")})
    images = (
        json.loads(_docker([docker, "image", "inspect"] + references, allow_missing=True) or "[]")
        if references
        else []
    )
    image_ids = {}
    for image in images:
        for name in (image.get("RepoTags") or []) + (image.get("RepoDigests") or []):
            image_ids[name] = image["Id"]
    # A reference without a tag (redis) is tagged redis:latest.
    for reference in references:
        if reference not in image_ids and reference + ":latest" in image_ids:
            image_ids[reference] = image_ids[reference + ":latest"]
    return hashes, find_drift(hashes, containers, image_ids)
