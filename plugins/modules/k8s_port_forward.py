#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_port_forward
short_description: Start or stop one kubectl port-forward process per port, on 127.0.0.1
version_added: 1.0.0
description:
  - Runs C(kubectl port-forward --address 127.0.0.1 svc/SERVICE LOCAL:PORT) for each entry
    of O(forwards) in a session of its own (it outlives the play), its process id in
    C(O(run_dir)/SERVICE-PORT.pid) and its output in C(O(run_dir)/SERVICE-PORT.log).
  - A forward whose process still runs is left alone, so a second run changes nothing;
    O(state=stopped) ends the processes of the pid files and removes them.
  - A forward that cannot start (the API server or the node refuses it, the local port is
    taken) fails the task with each such forward and kubectl's own error; the others keep
    running.
  - kubectl's port-forward has no library to call in Python (the kubernetes client's
    portforward speaks to one pod, without a Service's port mapping), hence the process.
author:
  - vhvcorp platform team (@vhvcorp)
attributes:
  check_mode:
    support: full
    details: Says what it would start or stop, and starts or stops nothing.
  diff_mode:
    support: none
options:
  forwards:
    description: The ports to forward.
    type: list
    elements: dict
    required: true
    suboptions:
      service:
        description: The Service's name.
        type: str
        required: true
      port:
        description: The Service's port.
        type: int
        required: true
      local_port:
        description: The port on 127.0.0.1.
        type: int
        required: true
  namespace:
    description: The Services' namespace.
    type: str
    required: true
  state:
    description: Whether the forwards run.
    type: str
    choices: [started, stopped]
    default: started
  run_dir:
    description: Where the pid and log files are kept (made when missing).
    type: path
    required: true
  kubectl:
    description: The kubectl command.
    type: str
    default: kubectl
  kubeconfig:
    description: The kubeconfig; empty - kubectl's own default.
    type: path
  context:
    description: The kubeconfig's context; empty - its current one.
    type: str
    default: ""
  start_timeout:
    description: Seconds the forwards, started side by side, may take to say they forward.
    type: int
    default: 60
"""

EXAMPLES = r"""
- name: Forward MongoDB and the gateway of the deployed stack to 127.0.0.1.
  vhvcorp.devtools.k8s_port_forward:
    namespace: go-platform
    run_dir: "{{ workspace }}/deploy/port-forward"
    forwards:
      - {service: mongodb, port: 27017, local_port: 27017}
      - {service: api-gateway, port: 8080, local_port: 8080}

- name: Stop them.
  vhvcorp.devtools.k8s_port_forward:
    namespace: go-platform
    run_dir: "{{ workspace }}/deploy/port-forward"
    forwards: []
    state: stopped
"""

RETURN = r"""
started:
  description: The forwards started by this run, as SERVICE:PORT->LOCAL_PORT.
  returned: always
  type: list
  elements: str
  sample: ["mongodb:27017->27017"]
running:
  description: The forwards that were already running and were left alone.
  returned: always
  type: list
  elements: str
  sample: []
stopped:
  description: The forwards whose processes this run ended (O(state=stopped)).
  returned: always
  type: list
  elements: str
  sample: []
failed_forwards:
  description: The forwards that could not start, each with kubectl's error.
  returned: always
  type: list
  elements: dict
  sample: [{"forward": "mongodb:27017->27017", "error": "error upgrading connection"}]
"""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule


def argument_spec() -> dict:
    return {
        "forwards": {
            "type": "list",
            "elements": "dict",
            "required": True,
            "options": {
                "service": {"type": "str", "required": True},
                "port": {"type": "int", "required": True},
                "local_port": {"type": "int", "required": True},
            },
        },
        "namespace": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["started", "stopped"], "default": "started"},
        "run_dir": {"type": "path", "required": True},
        "kubectl": {"type": "str", "default": "kubectl"},
        "kubeconfig": {"type": "path"},
        "context": {"type": "str", "default": ""},
        "start_timeout": {"type": "int", "default": 60},
    }


def _alive(pid_file: Path) -> int:
    """The pid of the pid file when that process runs, else 0."""
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return 0
    return pid


def _taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _spawn(p: dict, forward: dict, pid_file: Path, log: Path) -> subprocess.Popen:
    argv = [p["kubectl"], "port-forward", "--address", "127.0.0.1", "-n", p["namespace"]]
    argv += [f"--kubeconfig={p['kubeconfig']}"] if p["kubeconfig"] else []
    argv += [f"--context={p['context']}"] if p["context"] else []
    argv += [f"svc/{forward['service']}", f"{forward['local_port']}:{forward['port']}"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    pid_file.write_text(str(proc.pid))
    return proc


def _await(p: dict, starting: dict) -> dict:
    """Wait, side by side, until each forward says it forwards (kubectl's `Forwarding
    from`), exits, or runs out of start_timeout: name -> '' or its error."""
    outcome = {}
    deadline = time.monotonic() + p["start_timeout"]
    while starting and time.monotonic() < deadline:
        for name, (proc, pid_file, log) in list(starting.items()):
            text = log.read_text(errors="replace")
            if proc.poll() is not None:
                pid_file.unlink()
                lines = text.strip().splitlines()
                outcome[name] = lines[-1] if lines else f"kubectl exited {proc.returncode}"
            elif "Forwarding from" in text:
                outcome[name] = ""
            else:
                continue
            del starting[name]
        time.sleep(0.2)
    for name, (proc, pid_file, _) in starting.items():
        os.killpg(proc.pid, signal.SIGTERM)
        pid_file.unlink()
        outcome[name] = f"not forwarding after {p['start_timeout']}s"
    return outcome


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    run_dir = Path(p["run_dir"])
    result = {"started": [], "running": [], "stopped": [], "failed_forwards": []}
    if p["state"] == "stopped":
        for pid_file in sorted(run_dir.glob("*.pid")) if run_dir.is_dir() else []:
            pid = _alive(pid_file)
            if pid:
                result["stopped"].append(pid_file.stem)
            if not module.check_mode:
                if pid:
                    os.killpg(pid, signal.SIGTERM)
                pid_file.unlink()
        module.exit_json(changed=bool(result["stopped"]), **result)
    if not module.check_mode:
        run_dir.mkdir(parents=True, exist_ok=True)
    starting = {}
    for forward in p["forwards"]:
        name = f"{forward['service']}:{forward['port']}->{forward['local_port']}"
        stem = f"{forward['service']}-{forward['port']}"
        pid_file = run_dir / f"{stem}.pid"
        if _alive(pid_file):
            result["running"].append(name)
        elif _taken(forward["local_port"]):
            error = f"127.0.0.1:{forward['local_port']} is taken by another process"
            result["failed_forwards"].append({"forward": name, "error": error})
        elif module.check_mode:
            result["started"].append(name)
        else:
            log = run_dir / f"{stem}.log"
            starting[name] = (_spawn(p, forward, pid_file, log), pid_file, log)
    for name, error in _await(p, starting).items():
        if error:
            result["failed_forwards"].append({"forward": name, "error": error})
        else:
            result["started"].append(name)
    if result["failed_forwards"]:
        module.fail_json(
            msg=f"{len(result['failed_forwards'])} of {len(p['forwards'])} forward(s) did not "
            "start: "
            + "; ".join(f"{f['forward']}: {f['error']}" for f in result["failed_forwards"])
            + ". Is the stack deployed to that namespace (deploy-local.yml) and its pods "
            "running on a node with a kubelet?",
            changed=bool(result["started"]),
            **result,
        )
    module.exit_json(changed=bool(result["started"]), **result)


if __name__ == "__main__":
    main()
