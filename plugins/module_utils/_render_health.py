# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the stack's health checks probe from this machine, rendered from the normalised
catalog: the endpoints for service_health and one summary line per container."""

from __future__ import annotations

from ansible_collections.vhvcorp.devtools.plugins.module_utils._catalog import fail
from ansible_collections.vhvcorp.devtools.plugins.module_utils._render_editor import host_addresses


def stack_endpoints(catalog: dict) -> list:
    """One line per container: its published ports, and the health URL of a service."""
    lines = []
    for c in catalog["containers"]:
        ports = ", ".join(f"{p['name']} {p['host_ip']}:{p['host']}" for p in c["ports"]) or "-"
        health = f"; health {c['health_url']}" if c["health_url"] else ""
        lines.append(f"{c['name']}: {ports}{health}")
    return lines


def stack_health_endpoints(catalog: dict) -> list:
    """The service_health endpoints of the stack, seen from this machine: each service's
    health URL (and its gRPC health where the catalog says it has one: grpc_health), each
    component's first published port over TCP."""
    endpoints = []
    for c in catalog["containers"]:
        if c["health_url"]:
            endpoints.append({"name": c["name"], "kind": "http", "url": c["health_url"]})
            endpoints.extend(
                {
                    "name": f"{c['name']} grpc",
                    "kind": "grpc",
                    "host": p["host_ip"],
                    "port": p["host"],
                }
                for p in c["ports"]
                if p["name"] == "grpc" and c["grpc_health"]
            )
        elif c["ports"]:
            first = c["ports"][0]
            endpoints.append(
                {"name": c["name"], "kind": "tcp", "host": first["host_ip"], "port": first["host"]}
            )
    return endpoints


def stack_test_environment(catalog: dict) -> dict:
    """The stack's addresses as seen from this machine, for the platform's integration and
    end-to-end tests (go test on the host): STACK_<NAME>_<PORT>=host:port for each published
    port of each container (STACK_AUTH_SERVICE_GRPC=127.0.0.1:50051), STACK_<NAME>_URL the
    base URL of each service's HTTP port, and MONGODB_URI / REDIS_URL where those run."""
    env = {}
    for c in catalog["containers"]:
        key = "STACK_" + c["name"].upper().replace("-", "_")
        for p in c["ports"]:
            address = f"{p['host_ip']}:{p['host']}"
            env[f"{key}_{p['name'].upper().replace('-', '_')}"] = address
            if c["kind"] == "service" and p["name"] == "http":
                env[f"{key}_URL"] = f"http://{address}"
        if c["ports"] and c["name"] == "mongodb":
            env["MONGODB_URI"] = f"mongodb://{c['ports'][0]['host_ip']}:{c['ports'][0]['host']}/"
        if c["ports"] and c["name"] == "redis":
            env["REDIS_URL"] = f"redis://{c['ports'][0]['host_ip']}:{c['ports'][0]['host']}/0"
    return env


def stack_web_url(components: dict, name: str, offset=0, address="127.0.0.1") -> str:
    """The URL of a component's web page (`make open-<name>`): its `web_port` (the name of
    one of its ports) as published on this machine, whatever the profile or image source."""
    components = dict(components or {})
    with_page = sorted(n for n, raw in components.items() if (raw or {}).get("web_port"))
    raw = components.get(name) or {}
    if not raw.get("web_port"):
        fail(f"{name!r} has no web page to open; choose one of {', '.join(with_page)}.")
    port = next((p for p in raw.get("ports") or [] if p.get("name") == raw["web_port"]), None)
    if port is None:
        fail(
            f"devtools_stack_components.{name}.web_port is {raw['web_port']!r}, but none of its "
            f"ports has that name; name one of {[p.get('name') for p in raw.get('ports') or []]}."
        )
    host = host_addresses([], {name: raw}, offset, address)[name]
    return f"http://{host['address']}:{host['ports'][int(port['container'])]}/"
