# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The stack's catalog, normalised once.

`stack_catalog` is the one place that reads the service catalog (devtools_services), the
infrastructure components, the profile and the image source, and returns the normalised
form: one entry per container with its image, ports, environment, health check, limits,
volumes and metrics. Every renderer (the `_render_*.py` files beside this one) takes that
form and nothing else, so the compose files, the Prometheus scrape jobs, the Grafana
dashboards and the health URLs cannot disagree with one another.

Written in Python rather than Jinja: the merging rules (profiles, enabled flags, image
sources, dropped dependencies, port offsets) are logic, and logic belongs where pytest can
reach it (tests/unit/test_catalog.py). Private (`_`): the collection's own plugins import it;
the filters of plugins/filter/catalog.py are its public face.
"""

from __future__ import annotations

import posixpath
import re

from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_generate import (
    GenerateError,
    normalize_steps,
)

IMAGE_SOURCES = ("registry", "local", "auto")
# Where every local service image has the health probe (roles/stack/files/healthprobe).
HEALTH_PROBE = "/usr/local/bin/healthprobe"
_DURATION = re.compile(r"^\d+(ms|s|m|h)$")
_MEMORY = re.compile(r"^\d+(\.\d+)?[bkmg]?$", re.IGNORECASE)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
# Where a service runs in its container: the platform's services (go-shared's config) read
# a `.env` file in their working directory and exit without one, so the workspace .env is
# mounted here as `.env` (read-only) besides reaching them as the environment (env_file).
SERVICE_WORKDIR = "/app"


class CatalogError(Exception):
    """The catalog or a setting is wrong; the message quotes the value and says what to do."""


def fail(message: str):
    raise CatalogError(message)


# --- image source --------------------------------------------------------------------------


def stack_image_source(requested: str, registry_answered=None, components=None) -> dict:
    """Decide the image source: `auto` becomes registry or local from the probe's answer.

    registry_answered is the probe's outcome (True: any HTTP answer; False: no answer;
    None: not probed). Returns {'source', 'requested', 'warnings'}.
    """
    if requested not in IMAGE_SOURCES:
        fail(
            f"devtools_stack_image_source is {requested!r}; choose one of "
            f"{', '.join(IMAGE_SOURCES)}."
        )
    if requested != "auto":
        return {"source": requested, "requested": requested, "warnings": []}
    if registry_answered is None:
        fail(
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
        fail(f"{where} is {value!r}, not a duration; write it like 10s, 500ms or 1m.")
    return value


def _health(raw: dict, test: list, where: str) -> dict:
    if not test:
        fail(f"{where} has no health check test; every container needs one.")
    return {
        "test": [str(t) for t in test],
        "interval": _duration(raw.get("interval", "10s"), f"{where}.interval"),
        "timeout": _duration(raw.get("timeout", "5s"), f"{where}.timeout"),
        "retries": int(raw.get("retries", 5)),
        "start_period": _duration(raw.get("start_period", "0s"), f"{where}.start_period"),
    }


def published_port(port: dict, offset) -> int:
    """The host port a component's port entry (devtools_stack_components) is published on:
    its `host` (the container port when not given) plus the stack's port offset."""
    return int(port.get("host", port["container"])) + int(offset)


def _grpc_health(value, grpc_port, where: str) -> bool:
    if not isinstance(value, bool):
        fail(f"{where}.grpc_health is {value!r}; write true or false.")
    if value and not grpc_port:
        fail(
            f"{where}.grpc_health is true but it has no grpc_port; give its gRPC port, "
            "or set grpc_health: false."
        )
    return value


def _limits(raw: dict, where: str) -> dict:
    memory = str(raw.get("memory", "256m"))
    if not _MEMORY.match(memory):
        fail(f"{where}.memory is {memory!r}; write it like 256m or 1g.")
    try:
        cpus = float(raw.get("cpus", 0.5))
    except (TypeError, ValueError):
        fail(f"{where}.cpus is {raw.get('cpus')!r}; write a number like 0.5.")
    if cpus <= 0:
        fail(f"{where}.cpus is {cpus}; it must be above 0.")
    return {"memory": memory, "cpus": cpus}


def _port(value, where: str) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        fail(f"{where} is {value!r}, not a port number.")
    if not 1 <= port <= 65535:
        fail(f"{where} is {port}, outside 1-65535.")
    return port


def _selected_infrastructure(components: dict, profile: str, profiles: dict, custom) -> list:
    if profile == "custom":
        wanted = list(custom or [])
    elif profile in (profiles or {}):
        wanted = list(profiles[profile])
    else:
        known = sorted(set(profiles or {}) | {"custom"})
        fail(f"devtools_stack_profile is {profile!r}; choose one of {', '.join(known)}.")
    unknown = [name for name in wanted if name not in components]
    if unknown:
        fail(
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
    local_namespace, service_user (uid:gid the services run as, the owner of the workspace
    .env, which is theirs to read with mode 0600; empty: the image's user), service_limits,
    service_health, service_image_prefix, service_image_tag, local_images (key -> image name
    of the local_images role), libraries (devtools_libraries: the Go libraries cloned
    beside the services, which their builds resolve to those clones), demo (the demo service
    stands in for every service: each is built from demo_dir, the collection's demo service,
    and its main package demo_package, instead of its clone; see _service_outcomes.use_demo).
    """
    s = _settings(settings)
    components = dict(components or {})
    infra, skipped, warnings = _infrastructure(components, s)
    by_name = _services_by_name(services)
    service_names = _selected_services(by_name, s["services"])
    clash = set(infra) & set(service_names)
    if clash:
        fail(f"{sorted(clash)} are both a service and an infrastructure component; rename one.")

    containers, substitutions = [], []
    for name in infra:
        container, substitution = _infrastructure_container(name, components[name], s)
        containers.append(container)
        if substitution:
            substitutions.append(substitution)
    if substitutions:
        warnings.append(
            "Local images stand in for the registry's: "
            + "; ".join(
                f"{x['name']}: {x['local']} instead of {x['registry']}" for x in substitutions
            )
            + "."
        )

    # What the infrastructure tells every service (service_env), then the service's own.
    service_env = {}
    for name in infra:
        service_env.update(
            {k: str(v) for k, v in (components[name].get("service_env") or {}).items()}
        )
    running = set(infra) | set(service_names)
    for name in service_names:
        containers.append(
            _service_container(
                by_name[name], s, service_env, running, set(by_name) | set(components)
            )
        )

    _check_dependency_cycles(containers)
    workspace, project = s["workspace"], s["project"]
    return {
        "libraries": s["libraries"],
        "project": project,
        "network": f"{project}-net",
        "image_source": s["source"],
        "workspace_dir": workspace,
        "compose_dir": f"{workspace}/deploy/compose",
        "config_dir": f"{workspace}/deploy/config",
        "containers": containers,
        "infrastructure": infra,
        "services": service_names,
        "demo": s["demo"] and s["source"] == "local",
        "volumes": [v["source"] for c in containers for v in c["volumes"] if v["type"] == "volume"],
        "local_images": sorted({c["local_image"] for c in containers if c["local_image"]}),
        "skipped": skipped,
        "substitutions": substitutions,
        "warnings": warnings,
    }


def _settings(settings: dict) -> dict:
    """The settings checked, with their defaults."""
    s = dict(settings or {})
    source = s.get("image_source", "local")
    if source not in ("registry", "local"):
        fail(
            f"stack_catalog needs image_source registry or local, got {source!r}; "
            "decide `auto` with stack_image_source first."
        )
    project = str(s.get("project", "vhvcorp"))
    if not _NAME.match(project):
        fail(f"devtools_stack_project is {project!r}; use lowercase letters, digits, - and _.")
    if s.get("demo") and not (s.get("demo_dir") and s.get("demo_package")):
        fail("The demo service stands in, but demo_dir and demo_package do not say where it is.")
    workspace = str(s.get("workspace_dir", "")).rstrip("/")
    if not workspace.startswith("/"):
        fail(f"The workspace directory is {workspace!r}; it must be an absolute path.")
    return {
        **s,
        "libraries": _demo_libraries(s["demo_dir"])
        if s.get("demo")
        else libraries(s.get("libraries"), workspace),
        "source": source,
        "project": project,
        "workspace": workspace,
        "address": str(s.get("publish_address", "127.0.0.1")),
        "offset": int(s.get("port_offset", 0)),
        "restart": str(s.get("restart", "unless-stopped")),
        "mirror": str(s.get("registry_mirror") or ""),
        "local_images": dict(s.get("local_images") or {}),
        "services": s.get("services", "all"),
        "service_user": str(s.get("service_user") or "") or None,
        "demo": bool(s.get("demo")),
    }


def _infrastructure(components: dict, s: dict) -> tuple:
    """The components the profile selects and that can run: (names, skipped, warnings)."""
    wanted = _selected_infrastructure(
        components, s.get("profile", "minimal"), s.get("profiles"), s.get("custom_components")
    )
    infra, skipped, warnings = [], [], []
    for name in wanted:
        raw = components[name] or {}
        if not raw.get("enabled", True):
            skipped.append({"name": name, "reason": "enabled is false"})
        elif s["source"] == "local" and not raw.get("local"):
            skipped.append({"name": name, "reason": "no local image"})
        else:
            infra.append(name)
    no_local = [x["name"] for x in skipped if x["reason"] == "no local image"]
    if no_local:
        warnings.append(
            f"Left out, as they have no local image: {', '.join(no_local)}. "
            "Use the registry image source to run them."
        )
    return infra, skipped, warnings


def _services_by_name(services) -> dict:
    by_name = {}
    for index, svc in enumerate(list(services or [])):
        if "name" not in svc:
            fail(f"devtools_services[{index}] has no name.")
        by_name[svc["name"]] = svc
    return by_name


def _selected_services(by_name: dict, wanted) -> list:
    """The names of the services to run, in the catalog's order."""
    if wanted in (None, "all"):
        return list(by_name)
    if isinstance(wanted, str):
        wanted = [x for x in wanted.split(",") if x]
    unknown = [x for x in wanted if x not in by_name]
    if unknown:
        fail(
            f"devtools_stack_services names {unknown}, which are not in the service catalog; "
            f"known: {sorted(by_name)}."
        )
    return [n for n in by_name if n in wanted]


def _infrastructure_container(name: str, raw: dict, s: dict) -> tuple:
    """One component's container, and the substitution of its registry image (or None)."""
    where = f"devtools_stack_components.{name}"
    source, workspace = s["source"], s["workspace"]
    src = raw[source]
    substitution = None
    if source == "local":
        key = src.get("build", name)
        image = s["local_images"].get(key) or fail(
            f"{where}.local.build is {key!r}, which the local_images role does not build; "
            f"known: {sorted(s['local_images'])}."
        )
        if raw.get("registry", {}).get("image"):
            substitution = {"name": name, "registry": raw["registry"]["image"], "local": image}
    else:
        image = s["mirror"] + src["image"]
    ports = []
    # The component's ports, then those of this image alone (its health port, say).
    for i, p in enumerate(list(raw.get("ports") or []) + list(src.get("ports") or [])):
        ports.append(
            {
                "name": str(p.get("name", f"port{i}")),
                "container": _port(p["container"], f"{where}.ports[{i}].container"),
                "host": _port(published_port(p, s["offset"]), f"{where}.ports[{i}].host"),
                "host_ip": s["address"],
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
    container = {
        "name": name,
        "kind": "infrastructure",
        "image": image,
        "local_image": src.get("build", name) if source == "local" else None,
        "build": None,
        "command": list(src["command"]) if src.get("command") else None,
        "working_dir": None,
        "user": src.get("user"),
        "environment": {k: str(v) for k, v in (raw.get("environment") or {}).items()},
        "env_file": False,
        "ports": ports,
        "healthcheck": _health(raw.get("health") or {}, src.get("test"), where),
        "health_url": None,
        "health_path": None,
        "grpc_health": False,
        "depends_on": [],
        "volumes": volumes,
        "config_dir": f"{workspace}/deploy/config/{name}" if raw.get("config") else None,
        "go_package": None,
        "limits": _limits(raw.get("limits") or {}, f"{where}.limits"),
        "restart": s["restart"],
        "metrics": metrics,
        "repository": None,
    }
    return container, substitution


def _relative_path(value, where: str, default: str) -> str:
    """A path inside a clone, as `a/b` (`.` for the clone itself); refused when absolute or
    reaching out of it."""
    raw = str(value or default).strip()
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if raw.startswith("/") or ".." in parts:
        fail(f"{where} is {raw!r}; give a path inside the clone, like server or ./cmd/server.")
    return "/".join(parts) or "."


def service_build(svc: dict) -> dict:
    """How a catalog service is built from its clone: module_dir (the Go module's directory
    in the clone, `.` or `a/b`), package (the main package in that module, `./a/b` as go
    build wants a relative package) and binary (default: the service's name)."""
    where = f"devtools_services[{svc.get('name')}].build"
    build = dict(svc.get("build") or {})
    package = _relative_path(build.get("package"), f"{where}.package", ".")
    return {
        "module_dir": _relative_path(build.get("module_dir"), f"{where}.module_dir", "."),
        "package": "." if package == "." else f"./{package}",
        "binary": str(build.get("binary") or svc.get("name")),
    }


# Where a service's own go.work is, relative to the workspace: beside its binary in the
# stack's build directory (the stack role's stack_build_dir default), written by go_build.
WORKFILE = "deploy/build/{name}/go.work"


def go_workfiles(services: list, raw_libraries, workspace: str) -> list:
    """go_build's builds that only write each service's go.work (workfiles_only): name,
    chdir (its Go module in its clone), workfile and replace (each library's clone)."""
    workspace = str(workspace).rstrip("/")
    replace = {lib["module"]: lib["dir"] for lib in libraries(raw_libraries, workspace)}
    builds = []
    for svc in services or []:
        module_dir = service_build(svc)["module_dir"]
        clone = f"{workspace}/{svc.get('repository') or svc['name']}"
        builds.append(
            {
                "name": svc["name"],
                "chdir": clone if module_dir == "." else f"{clone}/{module_dir}",
                "workfile": f"{workspace}/" + WORKFILE.format(name=svc["name"]),
                "replace": replace,
            }
        )
    return builds


# Where the demo service (roles/stack/files/demo-service) serves its metrics, on every
# service it plays.
DEMO_METRICS_PATH = "/metrics"

# The library the demo service requires (roles/stack/files/demo-shared, beside it), through
# a replace written for another layout, as the real services require go-shared.
DEMO_LIBRARY_MODULE = "github.com/vhvcorp/demo-shared"


def _demo_libraries(demo_dir) -> list:
    """The libraries when the demo service stands in: its own, from the collection."""
    return [
        {
            "name": "demo-shared",
            "repository": "demo-shared",
            "module": DEMO_LIBRARY_MODULE,
            "dir": posixpath.join(posixpath.dirname(str(demo_dir).rstrip("/")), "demo-shared"),
        }
    ]


def libraries(raw, workspace: str) -> list:
    """devtools_libraries normalised: name, repository, module, and dir, its clone in the
    workspace (<workspace>/<repository>)."""
    result, seen = [], set()
    for index, lib in enumerate(list(raw or [])):
        where = f"devtools_libraries[{index}]"
        if not isinstance(lib, dict) or not lib.get("module"):
            fail(f"{where} is {lib!r}; give its module (the Go module path) and repository.")
        repository = str(lib.get("repository") or lib.get("name") or "")
        if not _NAME.match(repository):
            fail(f"{where}.repository is {repository!r}; give the repository's name.")
        module = str(lib["module"])
        if module in seen:
            fail(f"{where}.module {module!r} is listed twice; keep one entry.")
        seen.add(module)
        result.append(
            {
                "name": str(lib.get("name") or repository),
                "repository": repository,
                "module": module,
                "dir": f"{workspace}/{repository}",
            }
        )
    return result


def _service_container(svc: dict, s: dict, service_env: dict, running: set, known: set) -> dict:
    """One service's container: built from its clone (local) or its registry image.

    running: the names of the containers that run (a dependency on another is dropped);
    known: every service and component name (a dependency on none of them is an error).
    """
    name = svc["name"]
    where = f"devtools_services[{name}]"
    offset = s["offset"]
    http_port = _port(svc.get("http_port"), f"{where}.http_port")
    grpc_port = _port(svc["grpc_port"], f"{where}.grpc_port") if svc.get("grpc_port") else None
    repository = str(svc.get("repository") or name)
    health_path = str(svc.get("health_path") or "/health")
    if not health_path.startswith("/"):
        fail(f"{where}.health_path is {health_path!r}; it must start with /.")
    grpc_health = _grpc_health(svc.get("grpc_health", False), grpc_port, where)
    build = service_build(svc)
    binary = build["binary"]
    if s["source"] == "local":
        if f"/usr/local/bin/{binary}" == HEALTH_PROBE:
            fail(
                f"{where}.build.binary is {binary!r}, the health probe's name in the image; "
                "rename it."
            )
        image = f"{s.get('local_namespace', 'vhvcorp-local')}/{name}:latest"
        test = ["CMD", HEALTH_PROBE, "-http", f"http://127.0.0.1:{http_port}{health_path}"]
        if grpc_health:
            test += ["-grpc", f"127.0.0.1:{grpc_port}"]
        clone = f"{s['workspace']}/{repository}"
        build_info = {
            "repository": repository,
            "module_dir": build["module_dir"],
            "source_dir": clone if build["module_dir"] == "." else f"{clone}/{build['module_dir']}",
            "package": build["package"],
            "binary": binary,
            # The catalog's generate steps, run in the clone before the build (go_generate).
            "clone_dir": clone,
            "generate": _generate(svc.get("generate"), f"{where}.generate"),
        }
        if s["demo"]:
            # The demo carries all its code: nothing to generate.
            build_info.update(
                source_dir=str(s["demo_dir"]),
                clone_dir=str(s["demo_dir"]),
                package=str(s["demo_package"]),
                generate=[],
            )
    else:
        prefix = str(s.get("service_image_prefix", "vhvcorp/"))
        tag = str(s.get("service_image_tag", "latest"))
        image = s["mirror"] + (svc.get("image") or f"{prefix}{repository}:{tag}")
        test = ["CMD", "curl", "-fsS", f"http://127.0.0.1:{http_port}{health_path}"]
        build_info = None
    ports = [
        {
            "name": "http",
            "container": http_port,
            "host": _port(http_port + offset, f"{where}.http_port + offset"),
            "host_ip": s["address"],
            "protocol": "tcp",
        }
    ]
    if grpc_port:
        ports.append(
            {
                "name": "grpc",
                "container": grpc_port,
                "host": _port(grpc_port + offset, f"{where}.grpc_port + offset"),
                "host_ip": s["address"],
                "protocol": "tcp",
            }
        )
    # Its ports reach it as the workspace .env's <PREFIX>_ variables, as the real services
    # read them; SERVICE_NAME says which service the demo service plays.
    environment = dict(service_env)
    environment["SERVICE_NAME"] = name
    environment.update({k: str(v) for k, v in (svc.get("environment") or {}).items()})
    depends = []
    for dep in svc.get("depends_on") or []:
        if dep in running:
            depends.append(dep)
        elif dep not in known:
            fail(f"{where}.depends_on names {dep!r}, which is neither a service nor a component.")
    # The demo service exposes its metrics whichever service it plays.
    demo = s["demo"] and s["source"] == "local"
    metrics_path = DEMO_METRICS_PATH if demo else svc.get("metrics_path")
    metrics = None
    if metrics_path:
        metrics = {"job": name, "target": f"{name}:{http_port}", "path": str(metrics_path)}
    return {
        "name": name,
        "kind": "service",
        "image": image,
        "local_image": None,
        "build": build_info,
        "command": None,
        "working_dir": SERVICE_WORKDIR,
        "user": s["service_user"],
        "environment": environment,
        "env_file": True,
        "ports": ports,
        "healthcheck": _health(s.get("service_health") or {}, test, where),
        "health_url": f"http://127.0.0.1:{http_port + offset}{health_path}",
        "health_path": health_path,
        "grpc_health": grpc_health,
        "depends_on": depends,
        "volumes": [
            {
                "type": "bind",
                "source": f"{s['workspace']}/.env",
                "target": f"{SERVICE_WORKDIR}/.env",
                "read_only": True,
            }
        ],
        "config_dir": None,
        # Where its main package is in its clone, whatever the image source (the dev
        # overlay builds it there).
        "go_package": {"module_dir": build["module_dir"], "package": build["package"]},
        "limits": _limits(s.get("service_limits") or {}, "devtools_stack_service_limits"),
        "restart": s["restart"],
        "metrics": metrics,
        "repository": repository,
    }


def _generate(steps, where: str) -> list:
    try:
        return normalize_steps(steps, where)
    except GenerateError as exc:
        fail(str(exc))


def _check_dependency_cycles(containers: list) -> None:
    graph = {c["name"]: c["depends_on"] for c in containers}
    state = {}

    def visit(node, path):
        if state.get(node) == "done":
            return
        if state.get(node) == "active":
            cycle = path[path.index(node) :] + [node]
            fail(f"The depends_on of the catalog loop: {' -> '.join(cycle)}; break the loop.")
        state[node] = "active"
        for dep in graph.get(node, []):
            visit(dep, path + [node])
        state[node] = "done"

    for node in graph:
        visit(node, [])
