"""The stack's catalog, normalised once, and the renderers that consume it.

`stack_catalog` is the one place that reads the service catalog (devtools_services), the
infrastructure components, the profile and the image source, and returns the normalised
form: one entry per container with its image, ports, environment, health check, limits,
volumes and metrics. Every renderer below takes that form and nothing else, so the
compose files, the Prometheus scrape jobs, the Grafana dashboards and the health URLs
cannot disagree with one another.

Written here rather than in Jinja: the merging rules (profiles, enabled flags, image
sources, dropped dependencies, port offsets) are logic, and logic belongs where pytest
can reach it (tests/unit/test_catalog.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re

from ansible.errors import AnsibleFilterError
from ansible_collections.vhvcorp.devtools.plugins.module_utils import dotenv

DOCUMENTATION = """
name: stack_catalog
short_description: Normalise the stack's catalog; render compose files and configuration from it.
description:
  - C(stack_catalog) turns the service catalog, the infrastructure components, the profile
    and the image source into one list of containers; the other filters of this file
    render from that list.
"""

IMAGE_SOURCES = ("registry", "local", "auto")
_DURATION = re.compile(r"^\d+(ms|s|m|h)$")
_MEMORY = re.compile(r"^\d+(\.\d+)?[bkmg]?$", re.IGNORECASE)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def _fail(message: str):
    raise AnsibleFilterError(message)


# --- image source --------------------------------------------------------------------------


def stack_image_source(requested: str, registry_answered=None, components=None) -> dict:
    """Decide the image source: `auto` becomes registry or local from the probe's answer.

    registry_answered is the probe's outcome (True: any HTTP answer; False: no answer;
    None: not probed). Returns {'source', 'requested', 'warnings'}.
    """
    if requested not in IMAGE_SOURCES:
        _fail(
            f"devtools_stack_image_source is {requested!r}; choose one of "
            f"{', '.join(IMAGE_SOURCES)}."
        )
    if requested != "auto":
        return {"source": requested, "requested": requested, "warnings": []}
    if registry_answered is None:
        _fail(
            "devtools_stack_image_source is 'auto' but the registry was not probed; "
            "probe it first (the stack role does) or choose 'registry' or 'local'."
        )
    if registry_answered:
        return {"source": "registry", "requested": "auto", "warnings": []}
    names = sorted(components or [])
    what = f" ({', '.join(names)})" if names else ""
    return {
        "source": "local",
        "requested": "auto",
        "warnings": [
            "The registry did not answer: the stack uses the local images instead of the "
            f"registry's{what}; see the substitutions below."
        ],
    }


# --- normalisation -------------------------------------------------------------------------


def _duration(value, where: str) -> str:
    value = str(value)
    if not _DURATION.match(value):
        _fail(f"{where} is {value!r}, not a duration; write it like 10s, 500ms or 1m.")
    return value


def _health(raw: dict, test: list, where: str) -> dict:
    if not test:
        _fail(f"{where} has no health check test; every container needs one.")
    return {
        "test": [str(t) for t in test],
        "interval": _duration(raw.get("interval", "10s"), f"{where}.interval"),
        "timeout": _duration(raw.get("timeout", "5s"), f"{where}.timeout"),
        "retries": int(raw.get("retries", 5)),
        "start_period": _duration(raw.get("start_period", "0s"), f"{where}.start_period"),
    }


def _limits(raw: dict, where: str) -> dict:
    memory = str(raw.get("memory", "256m"))
    if not _MEMORY.match(memory):
        _fail(f"{where}.memory is {memory!r}; write it like 256m or 1g.")
    try:
        cpus = float(raw.get("cpus", 0.5))
    except (TypeError, ValueError):
        _fail(f"{where}.cpus is {raw.get('cpus')!r}; write a number like 0.5.")
    if cpus <= 0:
        _fail(f"{where}.cpus is {cpus}; it must be above 0.")
    return {"memory": memory, "cpus": cpus}


def _port(value, where: str) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        _fail(f"{where} is {value!r}, not a port number.")
    if not 1 <= port <= 65535:
        _fail(f"{where} is {port}, outside 1-65535.")
    return port


def _selected_infrastructure(components: dict, profile: str, profiles: dict, custom) -> list:
    if profile == "custom":
        wanted = list(custom or [])
    elif profile in (profiles or {}):
        wanted = list(profiles[profile])
    else:
        known = sorted(set(profiles or {}) | {"custom"})
        _fail(f"devtools_stack_profile is {profile!r}; choose one of {', '.join(known)}.")
    unknown = [name for name in wanted if name not in components]
    if unknown:
        _fail(
            f"The profile {profile!r} names {unknown}, which are not infrastructure components; "
            f"known: {sorted(components)}."
        )
    return wanted


def stack_catalog(services, components, settings: dict) -> dict:
    """Normalise the catalog into the containers the stack runs.

    services: devtools_services (list of dicts). components: devtools_stack_components
    (dict). settings: profile, profiles, custom_components, services (list or 'all'),
    image_source (registry or local: decided already, see stack_image_source), project,
    workspace_dir, publish_address, port_offset, restart, registry_mirror,
    local_namespace, service_limits, service_health, service_image_prefix,
    service_image_tag, local_images (key -> image name of the local_images role).
    """
    s = dict(settings or {})
    source = s.get("image_source", "local")
    if source not in ("registry", "local"):
        _fail(
            f"stack_catalog needs image_source registry or local, got {source!r}; "
            "decide `auto` with stack_image_source first."
        )
    project = str(s.get("project", "vhvcorp"))
    if not _NAME.match(project):
        _fail(f"devtools_stack_project is {project!r}; use lowercase letters, digits, - and _.")
    workspace = str(s.get("workspace_dir", "")).rstrip("/")
    if not workspace.startswith("/"):
        _fail(f"The workspace directory is {workspace!r}; it must be an absolute path.")
    address = str(s.get("publish_address", "127.0.0.1"))
    offset = int(s.get("port_offset", 0))
    restart = str(s.get("restart", "unless-stopped"))
    mirror = str(s.get("registry_mirror") or "")
    local_images = dict(s.get("local_images") or {})
    components = dict(components or {})
    services = list(services or [])

    infra_wanted = _selected_infrastructure(
        components, s.get("profile", "minimal"), s.get("profiles"), s.get("custom_components")
    )
    warnings, skipped, substitutions = [], [], []
    infra = []
    for name in infra_wanted:
        raw = components[name] or {}
        if not raw.get("enabled", True):
            skipped.append({"name": name, "reason": "enabled is false"})
            continue
        if source == "local" and not raw.get("local"):
            skipped.append({"name": name, "reason": "no local image"})
            continue
        infra.append(name)
    no_local = [x["name"] for x in skipped if x["reason"] == "no local image"]
    if no_local:
        warnings.append(
            f"Left out, as they have no local image: {', '.join(no_local)}. "
            "Use the registry image source to run them."
        )

    wanted_services = s.get("services", "all")
    by_name = {}
    for index, svc in enumerate(services):
        if "name" not in svc:
            _fail(f"devtools_services[{index}] has no name.")
        by_name[svc["name"]] = svc
    if wanted_services in (None, "all"):
        service_names = list(by_name)
    else:
        if isinstance(wanted_services, str):
            wanted_services = [x for x in wanted_services.split(",") if x]
        unknown = [x for x in wanted_services if x not in by_name]
        if unknown:
            _fail(
                f"devtools_stack_services names {unknown}, which are not in the service catalog; "
                f"known: {sorted(by_name)}."
            )
        service_names = [n for n in by_name if n in wanted_services]
    names = set(infra) | set(service_names)
    clash = set(infra) & set(service_names)
    if clash:
        _fail(f"{sorted(clash)} are both a service and an infrastructure component; rename one.")

    containers = []
    service_env = {}
    for name in infra:
        service_env.update(
            {k: str(v) for k, v in (components[name].get("service_env") or {}).items()}
        )

    for name in infra:
        raw = components[name]
        where = f"devtools_stack_components.{name}"
        src = raw[source]
        if source == "local":
            key = src.get("build", name)
            image = local_images.get(key) or _fail(
                f"{where}.local.build is {key!r}, which the local_images role does not build; "
                f"known: {sorted(local_images)}."
            )
            if raw.get("registry", {}).get("image"):
                substitutions.append(
                    {"name": name, "registry": raw["registry"]["image"], "local": image}
                )
        else:
            image = mirror + src["image"]
        ports = []
        for i, p in enumerate(raw.get("ports") or []):
            ports.append(
                {
                    "name": str(p.get("name", f"port{i}")),
                    "container": _port(p["container"], f"{where}.ports[{i}].container"),
                    "host": _port(
                        int(p.get("host", p["container"])) + offset, f"{where}.ports[{i}].host"
                    ),
                    "host_ip": address,
                    "protocol": str(p.get("protocol", "tcp")),
                }
            )
        volumes = []
        if src.get("data_dir"):
            volumes.append({"type": "volume", "source": f"{name}-data", "target": src["data_dir"]})
        if raw.get("config"):
            volumes.append(
                {
                    "type": "bind",
                    "source": f"{workspace}/deploy/config/{name}",
                    "target": raw["config"],
                    "read_only": True,
                }
            )
        metrics = None
        if raw.get("metrics_path") and ports:
            metrics = {
                "job": name,
                "target": f"{name}:{ports[0]['container']}",
                "path": raw["metrics_path"],
            }
        containers.append(
            {
                "name": name,
                "kind": "infrastructure",
                "image": image,
                "local_image": src.get("build", name) if source == "local" else None,
                "build": None,
                "command": list(src["command"]) if src.get("command") else None,
                "user": src.get("user"),
                "environment": {k: str(v) for k, v in (raw.get("environment") or {}).items()},
                "env_file": False,
                "ports": ports,
                "healthcheck": _health(raw.get("health") or {}, src.get("test"), where),
                "health_url": None,
                "health_path": None,
                "depends_on": [],
                "volumes": volumes,
                "config_dir": f"{workspace}/deploy/config/{name}" if raw.get("config") else None,
                "limits": _limits(raw.get("limits") or {}, f"{where}.limits"),
                "restart": restart,
                "metrics": metrics,
                "repository": None,
            }
        )

    if substitutions:
        warnings.append(
            "Local images stand in for the registry's: "
            + "; ".join(
                f"{x['name']}: {x['local']} instead of {x['registry']}" for x in substitutions
            )
            + "."
        )

    prefix = str(s.get("service_image_prefix", "vhvcorp/"))
    tag = str(s.get("service_image_tag", "latest"))
    limits = s.get("service_limits") or {}
    health = s.get("service_health") or {}
    for name in service_names:
        svc = by_name[name]
        where = f"devtools_services[{name}]"
        http_port = _port(svc.get("http_port"), f"{where}.http_port")
        grpc_port = _port(svc["grpc_port"], f"{where}.grpc_port") if svc.get("grpc_port") else None
        repository = str(svc.get("repository") or name)
        health_path = str(svc.get("health_path") or "/health")
        if not health_path.startswith("/"):
            _fail(f"{where}.health_path is {health_path!r}; it must start with /.")
        build = dict(svc.get("build") or {})
        binary = str(build.get("binary") or name)
        if source == "local":
            image = f"{s.get('local_namespace', 'vhvcorp-local')}/{name}:latest"
            test = ["CMD", f"/usr/local/bin/{binary}", "-healthcheck"]
            build_info = {
                "repository": repository,
                "source_dir": f"{workspace}/{repository}",
                "package": str(build.get("package") or "."),
                "binary": binary,
            }
        else:
            image = mirror + (svc.get("image") or f"{prefix}{repository}:{tag}")
            test = ["CMD", "curl", "-fsS", f"http://127.0.0.1:{http_port}{health_path}"]
            build_info = None
        ports = [
            {
                "name": "http",
                "container": http_port,
                "host": _port(http_port + offset, f"{where}.http_port + offset"),
                "host_ip": address,
                "protocol": "tcp",
            }
        ]
        if grpc_port:
            ports.append(
                {
                    "name": "grpc",
                    "container": grpc_port,
                    "host": _port(grpc_port + offset, f"{where}.grpc_port + offset"),
                    "host_ip": address,
                    "protocol": "tcp",
                }
            )
        environment = dict(service_env)
        environment.update(
            {
                "SERVICE_NAME": name,
                "HTTP_PORT": str(http_port),
            }
        )
        if grpc_port:
            environment["GRPC_PORT"] = str(grpc_port)
        environment.update({k: str(v) for k, v in (svc.get("environment") or {}).items()})
        depends = []
        for dep in svc.get("depends_on") or []:
            if dep in names:
                depends.append(dep)
            elif dep not in by_name and dep not in components:
                _fail(
                    f"{where}.depends_on names {dep!r}, which is neither a service nor a component."
                )
        metrics = None
        if svc.get("metrics_path"):
            metrics = {
                "job": name,
                "target": f"{name}:{http_port}",
                "path": str(svc["metrics_path"]),
            }
        containers.append(
            {
                "name": name,
                "kind": "service",
                "image": image,
                "local_image": None,
                "build": build_info,
                "command": None,
                "user": None,
                "environment": environment,
                "env_file": True,
                "ports": ports,
                "healthcheck": _health(health, test, where),
                "health_url": f"http://127.0.0.1:{http_port + offset}{health_path}",
                "health_path": health_path,
                "depends_on": depends,
                "volumes": [],
                "config_dir": None,
                "limits": _limits(limits, "devtools_stack_service_limits"),
                "restart": restart,
                "metrics": metrics,
                "repository": repository,
            }
        )

    _check_dependency_cycles(containers)
    return {
        "project": project,
        "network": f"{project}-net",
        "image_source": source,
        "workspace_dir": workspace,
        "compose_dir": f"{workspace}/deploy/compose",
        "config_dir": f"{workspace}/deploy/config",
        "containers": containers,
        "infrastructure": infra,
        "services": service_names,
        "volumes": [v["source"] for c in containers for v in c["volumes"] if v["type"] == "volume"],
        "local_images": sorted({c["local_image"] for c in containers if c["local_image"]}),
        "skipped": skipped,
        "substitutions": substitutions,
        "warnings": warnings,
    }


def _check_dependency_cycles(containers: list) -> None:
    graph = {c["name"]: c["depends_on"] for c in containers}
    state = {}

    def visit(node, path):
        if state.get(node) == "done":
            return
        if state.get(node) == "active":
            cycle = path[path.index(node) :] + [node]
            _fail(f"The depends_on of the catalog loop: {' -> '.join(cycle)}; break the loop.")
        state[node] = "active"
        for dep in graph.get(node, []):
            visit(dep, path + [node])
        state[node] = "done"

    for node in graph:
        visit(node, [])


# --- compose -------------------------------------------------------------------------------


def _by_name(catalog: dict) -> dict:
    return {c["name"]: c for c in catalog["containers"]}


def stack_compose(catalog: dict, overlay: str = "base", options: dict | None = None) -> dict:
    """The compose file of an overlay: base, dev (hot reload) or test."""
    if overlay == "base":
        return _compose_base(catalog)
    if overlay == "dev":
        return _compose_dev(catalog, options or {})
    if overlay == "test":
        return _compose_test(catalog)
    _fail(f"stack_compose: overlay is {overlay!r}; choose base, dev or test.")


def _compose_base(catalog: dict) -> dict:
    services = {}
    env_file = f"{catalog['workspace_dir']}/.env"
    for c in catalog["containers"]:
        svc = {
            "image": c["image"],
            "container_name": f"{catalog['project']}-{c['name']}",
            "hostname": c["name"],
            "restart": c["restart"],
            "networks": [catalog["network"]],
            "healthcheck": dict(c["healthcheck"]),
            "deploy": {
                "resources": {
                    "limits": {"memory": c["limits"]["memory"], "cpus": str(c["limits"]["cpus"])}
                }
            },
            "labels": {"org.vhvcorp.devtools.kind": c["kind"]},
        }
        if c["command"]:
            svc["command"] = list(c["command"])
        if c["user"]:
            svc["user"] = c["user"]
        if c["env_file"]:
            svc["env_file"] = [env_file]
        if c["environment"]:
            svc["environment"] = dict(c["environment"])
        if c["ports"]:
            svc["ports"] = [
                {
                    "name": p["name"],
                    "target": p["container"],
                    "published": str(p["host"]),
                    "host_ip": p["host_ip"],
                    "protocol": p["protocol"],
                }
                for p in c["ports"]
            ]
        if c["volumes"]:
            svc["volumes"] = [dict(v) for v in c["volumes"]]
        if c["depends_on"]:
            svc["depends_on"] = {d: {"condition": "service_healthy"} for d in c["depends_on"]}
        services[c["name"]] = svc
    return {
        "name": catalog["project"],
        "services": services,
        "networks": {catalog["network"]: {"name": catalog["network"], "driver": "bridge"}},
        "volumes": {v: {"name": f"{catalog['project']}-{v}"} for v in catalog["volumes"]},
    }


def _compose_dev(catalog: dict, options: dict) -> dict:
    """Sources mounted and air rebuilding on change, in a Go image (services only)."""
    go_image = str(options.get("go_image") or "golang:1.24-bookworm")
    air = str(options.get("air_version") or "latest")
    mirror = str(options.get("registry_mirror") or "")
    services = {}
    volumes = {}
    for c in catalog["containers"]:
        if c["kind"] != "service":
            continue
        repo = c["repository"]
        http = c["ports"][0]["container"]
        health_path = c["health_path"]
        services[c["name"]] = {
            "image": mirror + go_image,
            "working_dir": "/src",
            "user": "${DEVTOOLS_UID:-1000}:${DEVTOOLS_GID:-1000}",
            "environment": {
                "GOPATH": "/go",
                "GOCACHE": "/go/cache",
                "GOFLAGS": "-buildvcs=false",
                "HOME": "/tmp",  # noqa: S108 - inside the throwaway dev container
            },
            "command": [
                "sh",
                "-c",
                f"go install github.com/air-verse/air@{air} && exec /go/bin/air "
                f"--build.cmd 'go build -o /tmp/bin/app {(c['build'] or {}).get('package', '.')}' "
                "--build.bin /tmp/bin/app --tmp_dir /tmp/air",
            ],
            "volumes": [
                {"type": "bind", "source": f"{catalog['workspace_dir']}/{repo}", "target": "/src"},
                {"type": "volume", "source": "go-cache", "target": "/go"},
            ],
            "healthcheck": {
                "test": ["CMD", "curl", "-fsS", f"http://127.0.0.1:{http}{health_path}"],
                "start_period": "120s",
            },
        }
        volumes["go-cache"] = {"name": f"{catalog['project']}-go-cache"}
    compose = {"services": services}
    if volumes:
        compose["volumes"] = volumes
    return compose


def _compose_test(catalog: dict) -> dict:
    """For test runs: data on tmpfs (nothing kept), no restarts, quicker health checks."""
    services = {}
    for c in catalog["containers"]:
        svc = {
            "restart": "no",
            "healthcheck": {"interval": "2s", "start_period": c["healthcheck"]["start_period"]},
        }
        data = [v for v in c["volumes"] if v["type"] == "volume"]
        if data:
            svc["volumes"] = [
                {"type": "tmpfs", "target": v["target"], "tmpfs": {"mode": 0o1777}} for v in data
            ]
        if c["kind"] == "service":
            svc["environment"] = {"LOG_LEVEL": "warn"}
        services[c["name"]] = svc
    return {"services": services}


# --- Prometheus ----------------------------------------------------------------------------


def stack_prometheus_config(catalog: dict, scrape_interval: str = "15s") -> dict:
    """prometheus.yml: one scrape job per container with metrics, and the alert rules."""
    jobs = []
    for c in catalog["containers"]:
        m = c["metrics"]
        if not m:
            continue
        target = "localhost:9090" if c["name"] == "prometheus" else m["target"]
        jobs.append(
            {
                "job_name": m["job"],
                "metrics_path": m["path"],
                "scrape_interval": str(scrape_interval),
                "static_configs": [{"targets": [target], "labels": {"kind": c["kind"]}}],
            }
        )
    return {
        "global": {
            "scrape_interval": str(scrape_interval),
            "evaluation_interval": str(scrape_interval),
        },
        "rule_files": ["/etc/prometheus/alerts.yml"],
        "scrape_configs": jobs,
    }


def stack_prometheus_rules(catalog: dict) -> dict:
    """alerts.yml: HighErrorRate and ServiceDown (over every scrape job), as the architecture."""
    jobs = [c["metrics"]["job"] for c in catalog["containers"] if c["metrics"]]
    rules = [
        {
            "alert": "HighErrorRate",
            "expr": 'sum by (job) (rate(http_requests_total{status=~"5.."}[5m])) > 0.05',
            "for": "5m",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "High error rate detected on {{ $labels.job }}",
                "description": "{{ $labels.job }} answers more than 0.05 5xx responses per second.",
            },
        }
    ]
    if jobs:
        rules.append(
            {
                "alert": "ServiceDown",
                "expr": f'up{{job=~"{"|".join(jobs)}"}} == 0',
                "for": "1m",
                "labels": {"severity": "critical"},
                "annotations": {
                    "summary": "{{ $labels.job }} is down",
                    "description": "Prometheus could not scrape {{ $labels.job }} for a minute.",
                },
            }
        )
    return {"groups": [{"name": "service_alerts", "rules": rules}]}


# --- RabbitMQ ------------------------------------------------------------------------------


def rabbitmq_password_hash(password: str, salt_seed: str = "") -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password)).

    The 4-byte salt is derived from the password (and salt_seed) so the same password
    gives the same hash on every run: the definitions file changes only when the password
    does. Written here as no library computes RabbitMQ's format.
    """
    pw = str(password).encode()
    salt = hashlib.sha256(b"vhvcorp-devtools:" + str(salt_seed).encode() + b":" + pw).digest()[:4]
    return base64.b64encode(salt + hashlib.sha256(salt + pw).digest()).decode()


def rabbitmq_definitions(topology: dict, user: str, password: str, vhost: str = "/") -> dict:
    """The definitions RabbitMQ loads at start: user, vhost, exchanges, queues, bindings."""
    dlx = topology.get("dead_letter_exchange", "dlx")
    dl_key = topology.get("dead_letter_routing_key", "failed")
    dl_queue = topology.get("dead_letter_queue", f"{dlx}.{dl_key}")
    exchanges = [
        {
            "name": dlx,
            "vhost": vhost,
            "type": "direct",
            "durable": True,
            "auto_delete": False,
            "internal": False,
            "arguments": {},
        }
    ]
    queues = [
        {"name": dl_queue, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": {}}
    ]
    bindings = [
        {
            "source": dlx,
            "vhost": vhost,
            "destination": dl_queue,
            "destination_type": "queue",
            "routing_key": dl_key,
            "arguments": {},
        }
    ]
    for ex in topology.get("exchanges") or []:
        exchanges.append(
            {
                "name": ex["name"],
                "vhost": vhost,
                "type": ex.get("type", "topic"),
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
        )
        for q in ex.get("queues") or []:
            queues.append(
                {
                    "name": q["name"],
                    "vhost": vhost,
                    "durable": True,
                    "auto_delete": False,
                    "arguments": {
                        "x-dead-letter-exchange": dlx,
                        "x-dead-letter-routing-key": dl_key,
                    },
                }
            )
            bindings.append(
                {
                    "source": ex["name"],
                    "vhost": vhost,
                    "destination": q["name"],
                    "destination_type": "queue",
                    "routing_key": str(q.get("routing_key", "")),
                    "arguments": {},
                }
            )
    return {
        "users": [
            {
                "name": user,
                "password_hash": rabbitmq_password_hash(password, user),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": ["administrator"],
            }
        ],
        "vhosts": [{"name": vhost}],
        "permissions": [
            {"user": user, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}
        ],
        "exchanges": exchanges,
        "queues": queues,
        "bindings": bindings,
    }


# --- Grafana -------------------------------------------------------------------------------


def _panel(pid: int, title: str, exprs: list, x: int, y: int, unit: str = "short") -> dict:
    return {
        "id": pid,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "prometheus"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(exprs)
        ],
    }


def _dashboard(uid: str, title: str, panels: list) -> dict:
    laid = []
    for i, (title_, exprs, unit) in enumerate(panels):
        laid.append(_panel(i + 1, title_, exprs, (i % 2) * 12, (i // 2) * 8, unit))
    return {
        "uid": uid,
        "title": title,
        "tags": ["vhvcorp"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "panels": laid,
    }


def stack_grafana_dashboards(catalog: dict) -> dict:
    """Three dashboards (file name -> JSON model) with the architecture's metric names."""
    jobs = [
        c["metrics"]["job"]
        for c in catalog["containers"]
        if c["metrics"] and c["kind"] == "service"
    ]
    sel = '{job=~"%s"}' % "|".join(jobs) if jobs else ""
    inner = sel[1:-1] + "," if sel else ""
    overview = _dashboard(
        "vhvcorp-service-overview",
        "Service Overview",
        [
            (
                "Request rate (req/s)",
                [(f"sum by (job) (rate(http_requests_total{sel}[5m]))", "{{job}}")],
                "reqps",
            ),
            (
                "Response time (p50, p95, p99)",
                [
                    (
                        f"histogram_quantile({q}, sum by (le, job) "
                        f"(rate(http_request_duration_seconds_bucket{sel}[5m])))",
                        "{{job}} p" + str(int(q * 100)),
                    )
                    for q in (0.5, 0.95, 0.99)
                ],
                "s",
            ),
            (
                "Error rate (%)",
                [
                    (
                        "100 * sum by (job) "
                        f'(rate(http_requests_total{{{inner}status=~"5.."}}[5m])) '
                        f"/ sum by (job) (rate(http_requests_total{sel}[5m]))",
                        "{{job}}",
                    )
                ],
                "percent",
            ),
            (
                "gRPC calls handled (req/s)",
                [
                    (
                        f"sum by (job, grpc_method) (rate(grpc_server_handled_total{sel}[5m]))",
                        "{{job}} {{grpc_method}}",
                    )
                ],
                "reqps",
            ),
            ("Service health status", [(f"up{sel}", "{{job}}")], "short"),
        ],
    )
    resources = _dashboard(
        "vhvcorp-resource-usage",
        "Resource Usage",
        [
            (
                "CPU usage per service",
                [(f"rate(process_cpu_seconds_total{sel}[5m])", "{{job}}")],
                "percentunit",
            ),
            ("Memory usage per service", [(f"go_memstats_alloc_bytes{sel}", "{{job}}")], "bytes"),
            ("Goroutine count", [(f"go_goroutines{sel}", "{{job}}")], "short"),
            ("GC pause time", [(f"rate(go_gc_duration_seconds_sum{sel}[5m])", "{{job}}")], "s"),
            (
                "Response size",
                [(f"sum by (job) (rate(http_response_size_bytes_sum{sel}[5m]))", "{{job}}")],
                "Bps",
            ),
        ],
    )
    business = _dashboard(
        "vhvcorp-business-metrics",
        "Business Metrics",
        [
            (
                "User registrations (daily)",
                [("sum(increase(user_registrations_total[1d]))", "registrations")],
                "short",
            ),
            (
                "Login attempts",
                [("sum by (status) (rate(login_attempts_total[5m]))", "{{status}}")],
                "reqps",
            ),
            (
                "API calls per endpoint",
                [(f"sum by (path) (rate(http_requests_total{sel}[5m]))", "{{path}}")],
                "reqps",
            ),
            (
                "Notification delivery rate",
                [("sum by (channel) (rate(notifications_sent_total[5m]))", "{{channel}}")],
                "reqps",
            ),
        ],
    )
    return {
        "service-overview.json": overview,
        "resource-usage.json": resources,
        "business-metrics.json": business,
    }


def stack_grafana_datasources(catalog: dict) -> dict:
    """Grafana provisioning of the Prometheus and Jaeger data sources."""
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "uid": "prometheus",
                "type": "prometheus",
                "access": "proxy",
                "url": "http://prometheus:9090",
                "isDefault": True,
            },
            {
                "name": "Jaeger",
                "uid": "jaeger",
                "type": "jaeger",
                "access": "proxy",
                "url": "http://jaeger:16686",
            },
        ],
    }


# --- status --------------------------------------------------------------------------------


def stack_status_rows(containers) -> list:
    """Rows (service, state, health, ports) from `docker compose ps --format json`.

    Takes its output (a JSON array, or one JSON object per line as newer Compose prints)
    or the parsed entries.
    """
    if isinstance(containers, str):
        text = containers.strip()
        if text.startswith("["):
            containers = json.loads(text)
        else:
            containers = [json.loads(line) for line in text.splitlines() if line.strip()]
    rows = []
    for c in containers or []:
        ports = []
        for p in c.get("Publishers") or []:
            if p.get("PublishedPort"):
                ports.append(
                    f"{p.get('URL') or '*'}:{p['PublishedPort']}"
                    f"->{p['TargetPort']}/{p.get('Protocol', 'tcp')}"
                )
        rows.append(
            {
                "service": c.get("Service", ""),
                "state": c.get("State", ""),
                "health": c.get("Health") or "-",
                "ports": ", ".join(sorted(set(ports))) or "-",
            }
        )
    return sorted(rows, key=lambda r: r["service"])


def stack_table(rows: list, columns=("service", "state", "health", "ports"), right=()) -> str:
    """A fixed-width table for a debug message: a header of the column names (upper case,
    `_` as a space), then one line per row; the columns named in `right` (figures) are
    aligned to the right.

    One string of lines joined by newlines, not a list of lines: Ansible's YAML result
    format prints a multi-line string as a literal block, exactly as it is, but folds list
    items longer than 80 columns and quotes those holding ": ", which breaks the columns.
    """

    def cell(text: str, column: str) -> str:
        return text.rjust(widths[column]) if column in right else text.ljust(widths[column])

    widths = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns}
    lines = ["  ".join(cell(c.upper().replace("_", " "), c) for c in columns).rstrip()]
    for r in rows:
        lines.append("  ".join(cell(str(r.get(c, "")), c) for c in columns).rstrip())
    return "\n".join(lines)


def stack_unhealthy(rows: list) -> list:
    """Names, with state and health, of the status rows that are not healthy."""
    return [
        f"{r['service']} ({r['state']}, {r['health']})"
        for r in rows or []
        if r.get("health") != "healthy"
    ]


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
    health URL (and its gRPC health where it has a gRPC port), each component's first
    published port over TCP."""
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
                if p["name"] == "grpc"
            )
        elif c["ports"]:
            first = c["ports"][0]
            endpoints.append(
                {"name": c["name"], "kind": "tcp", "host": first["host_ip"], "port": first["host"]}
            )
    return endpoints


def dotenv_values(text: str) -> dict:
    """KEY -> value of a .env, parsed as the workspace role writes it (module_utils.dotenv)."""
    try:
        return dotenv.parse(str(text)).values()
    except dotenv.DotenvError as exc:
        _fail(f"The workspace .env cannot be read: {exc}")


class FilterModule:
    def filters(self):
        return {
            "stack_catalog": stack_catalog,
            "stack_image_source": stack_image_source,
            "stack_compose": stack_compose,
            "stack_health_endpoints": stack_health_endpoints,
            "stack_prometheus_config": stack_prometheus_config,
            "stack_prometheus_rules": stack_prometheus_rules,
            "stack_grafana_dashboards": stack_grafana_dashboards,
            "stack_grafana_datasources": stack_grafana_datasources,
            "rabbitmq_definitions": rabbitmq_definitions,
            "rabbitmq_password_hash": rabbitmq_password_hash,
            "stack_status_rows": stack_status_rows,
            "stack_table": stack_table,
            "dotenv_values": dotenv_values,
            "stack_unhealthy": stack_unhealthy,
            "stack_endpoints": stack_endpoints,
        }
