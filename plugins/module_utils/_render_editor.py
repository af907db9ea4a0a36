# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The editor configuration of the workspace rendered from the service catalog: VS Code's
launch.json (one Go debug configuration per service, and one that starts them all),
tasks.json (the make targets of the devtools checkout), and the host-side .env that a
service debugged on the host reads.

Why a host-side .env, and where: the workspace .env is the stack's, with the containers'
host names (mongodb:27017), which a debugger on the host cannot reach; the platform's
services (go-shared's config) read a `.env` file in their working directory and exit
without one. So the debugged services run in `.vscode/debug/`, whose `.env` is the
workspace's with every address rewritten to the published one (127.0.0.1 and the host
port), and the launch configurations' envFile is that file too. It is written beside the
workspace .env, never into the clones (the developer's repositories), with the same mode
0600, since it holds the same secrets; launch.json holds none.
"""

from __future__ import annotations

import re

from ansible_collections.vhvcorp.devtools.plugins.module_utils import dotenv
from ansible_collections.vhvcorp.devtools.plugins.module_utils._catalog import (
    WORKFILE,
    published_port,
    service_build,
)

# The debugged services' working directory and .env, under the workspace.
DEBUG_DIR = ".vscode/debug"
DEBUG_ENV = f"{DEBUG_DIR}/.env"

HOST_HEADER = (
    "# The workspace .env for a service run on this host (VS Code's debugger): every stack",
    "# address rewritten to its published one. Written by vhvcorp.devtools.workspace_env from",
    "# the workspace .env on every run: edit that file (or the role's overrides), not this one.",
)

# host:port after the start of the value, `//` (a URL) or `@` (its userinfo).
_HOST_PORT = re.compile(r"(^|//|@)([A-Za-z0-9_.-]+):(\d{1,5})(?=[/?#,]|$)")


def vscode_launch(services: list, workfiles=None) -> dict:
    """launch.json: each service's main package (its catalog's build.package in the
    build.module_dir of its clone), run in the debug directory with the host-side .env.
    A service named in ``workfiles`` (those with a go.work of their own: go_build's
    workfiles_only) is built with it (GOWORK), so its libraries resolve to the workspace's
    clones, as in the stack's build."""
    workfiles = set(workfiles or [])
    configurations = []
    for service in services or []:
        clone = str(service.get("repository") or service["name"])
        build = service_build(service)
        program = "/".join(
            ["${workspaceFolder}", clone]
            + [p for p in f"{build['module_dir']}/{build['package']}".split("/") if p != "."]
        )
        configuration = {
            "name": service["name"],
            "type": "go",
            "request": "launch",
            "mode": "auto",
            "program": program,
            "cwd": "${workspaceFolder}/" + DEBUG_DIR,
            "envFile": "${workspaceFolder}/" + DEBUG_ENV,
        }
        if service["name"] in workfiles:
            gowork = "${workspaceFolder}/" + WORKFILE.format(name=service["name"])
            configuration["env"] = {"GOWORK": gowork}
        configurations.append(configuration)
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


def host_addresses(services: list, components: dict, offset=0, address="127.0.0.1") -> dict:
    """Container host name -> {address, ports: {container port: published port}} of every
    service of the catalog and every infrastructure component (devtools_stack_components),
    as the stack publishes them: on ``address`` (0.0.0.0 is reached at 127.0.0.1), each
    host port plus ``offset``."""
    offset = int(offset or 0)
    address = "127.0.0.1" if str(address) in ("", "0.0.0.0") else str(address)  # noqa: S104
    hosts = {}
    for name, raw in (components or {}).items():
        hosts[name] = {
            "address": address,
            "ports": {
                int(p["container"]): published_port(p, offset) for p in raw.get("ports") or []
            },
        }
    for service in services or []:
        ports = [service.get("http_port"), service.get("grpc_port")]
        hosts[service["name"]] = {
            "address": address,
            "ports": {int(p): int(p) + offset for p in ports if p},
        }
    return hosts


def _host_value(key: str, value: str, values: dict, hosts: dict) -> str:
    """The value with a container's address rewritten to the published one."""

    def host_port(match):
        start, host, port = match.groups()
        if host not in hosts:
            return match.group(0)
        published = hosts[host]["ports"].get(int(port), int(port))
        return f"{start}{hosts[host]['address']}:{published}"

    if value in hosts:  # a host name alone: REDIS_HOST=redis, JAEGER_AGENT_HOST=jaeger
        return hosts[value]["address"]
    # A port beside such a host name: REDIS_PORT beside REDIS_HOST.
    if key.endswith("_PORT") and values.get(key[: -len("PORT")] + "HOST") in hosts:
        host = hosts[values[key[: -len("PORT")] + "HOST"]]
        return str(host["ports"].get(int(value), value)) if value.isdigit() else value
    return _HOST_PORT.sub(host_port, value)


def host_env(text: str, hosts: dict) -> str:
    """The workspace .env ``text`` with every address of a container in ``hosts``
    (host_addresses) rewritten: URLs and host:port values, host names alone and the
    <X>_PORT beside an <X>_HOST. Other lines, comments and ${KEY} references are kept."""
    document = dotenv.parse(text)
    values = document.values()
    lines = []
    for kind, item in document.items:
        if kind == "text":
            if item not in dotenv.HEADER:  # the workspace file's own header is not this one's
                lines.append(item)
            continue
        value = _host_value(item.key, item.value, values, hosts)
        if value == item.value:
            lines.append(item.raw)
        else:
            line = dotenv.format_line(item.key, value, literal="${" not in value)
            lines.append(("export " if item.export else "") + line)
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(list(HOST_HEADER) + [""] + lines) + "\n"
