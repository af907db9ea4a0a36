#!/usr/bin/env python3
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How long deploy-local.yml takes on the harness's control plane (make harness first): the
whole catalog from nothing to every rollout Ready, then a rerun that must change nothing.

Makes a workspace with the workspace role's .env in a temporary directory, binds a volume
to each component's data claim, runs deploy-local.yml twice, prints both times and the load
average, and deletes its namespace and volumes.

    python benchmarks/k8s_deploy.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from conftest import harness_state_dir, run_ansible, workspace_with_env  # noqa: E402
from k8s_fixtures import data_volumes, deploy_options  # noqa: E402

PROJECT = "k8sbench"


def kubectl(kube: dict, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [kube["kubectl"], f"--kubeconfig={kube['kubeconfig']}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def timed(*args) -> tuple:
    started = time.monotonic()
    result = run_ansible("ansible-playbook", *args, timeout=1800)
    if result.returncode:
        sys.exit(f"deploy-local.yml failed:\n{result.stdout[-4000:]}")
    recap = next(x for x in result.stdout.splitlines() if x.startswith("localhost "))
    return time.monotonic() - started, int(recap.split("changed=")[1].split()[0])


def main() -> int:
    kube = json.loads((harness_state_dir() / "harness.json").read_text())["kubernetes"]
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "ws"
        workspace_with_env(workspace)
        volumes = data_volumes(PROJECT)
        kubectl(kube, "apply", "-f", "-", stdin=json.dumps(volumes))
        options = deploy_options(kube, workspace, PROJECT)
        try:
            first, _ = timed(REPO / "deploy-local.yml", *options)
            rerun, changed = timed(REPO / "deploy-local.yml", *options)
        finally:
            kubectl(kube, "delete", "namespace", PROJECT, "--wait=false")
            kubectl(kube, "delete", "pv", *(v["metadata"]["name"] for v in volumes["items"]))
    print(f"deploy-local.yml, whole catalog to Ready: {first:6.1f} s")
    print(f"deploy-local.yml, rerun (changed={changed}): {rerun:6.1f} s")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0 if changed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
