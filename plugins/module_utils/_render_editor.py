# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The editor configuration of the workspace rendered from the service catalog: VS Code's
launch.json (one Go debug configuration per service, and one that starts them all) and
tasks.json (the make targets of the devtools checkout)."""

from __future__ import annotations


def vscode_launch(services: list) -> dict:
    """launch.json: each service run from its clone with the workspace .env."""
    configurations = []
    for service in services or []:
        clone = "${workspaceFolder}/" + str(service.get("repository") or service["name"])
        configurations.append(
            {
                "name": service["name"],
                "type": "go",
                "request": "launch",
                "mode": "auto",
                "program": clone,
                "cwd": clone,
                "envFile": "${workspaceFolder}/.env",
            }
        )
    return {
        "version": "0.2.0",
        "configurations": configurations,
        "compounds": [
            {
                "name": "All services",
                "configurations": [c["name"] for c in configurations],
                "stopAll": True,
            }
        ],
    }


def vscode_tasks(targets: list, cwd: str) -> dict:
    """tasks.json: `make <target>` run in ``cwd``, each in its VS Code group."""
    return {
        "version": "2.0.0",
        "tasks": [
            {
                "label": f"make {item['target']}",
                "type": "shell",
                "command": "make",
                "args": [item["target"]],
                "options": {"cwd": cwd},
                "group": item["group"],
                "problemMatcher": [],
            }
            for item in targets or []
        ],
    }
