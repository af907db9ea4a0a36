# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The compose files of the stack (base, dev and test overlays), rendered from the normalised
catalog (_catalog.stack_catalog)."""

from __future__ import annotations

from ansible_collections.vhvcorp.devtools.plugins.module_utils._catalog import WORKFILE, fail


def stack_compose(catalog: dict, overlay: str = "base", options: dict | None = None) -> dict:
    """The compose file of an overlay: base, dev (hot reload) or test."""
    if overlay == "base":
        return _compose_base(catalog)
    if overlay == "dev":
        return _compose_dev(catalog, options or {})
    if overlay == "test":
        return _compose_test(catalog)
    fail(f"stack_compose: overlay is {overlay!r}; choose base, dev or test.")


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
        if c["working_dir"]:
            svc["working_dir"] = c["working_dir"]
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
    """Sources mounted and air rebuilding on change, in a Go image (services only).

    The registry image source runs options' go_image (behind registry_mirror) and installs
    air at start; the local one runs local_go_image, which has air, with this machine's
    module cache (module_cache) mounted read-only and the module proxy off, so it fetches
    nothing, and its build cache (build_cache), with the flags of the stack role's local
    build (go_build's -trimpath, no cgo), so that what that build compiled a moment before
    is not compiled again (on two busy cores, 90 s instead of more than 10 minutes).
    """
    image, install_air, caches = _dev_toolchain(catalog, options)
    memory = str(options.get("memory") or "1g")
    services = {
        c["name"]: _dev_service(c, catalog["workspace_dir"], image, install_air, caches, memory)
        for c in catalog["containers"]
        if c["kind"] == "service"
    }
    compose = {"services": services}
    if services:
        compose["volumes"] = {"go-cache": {"name": f"{catalog['project']}-go-cache"}}
    return compose


def _dev_toolchain(catalog: dict, options: dict) -> tuple[str, str, dict | None]:
    """(the Go image with its registry, the shell step that installs air before it runs, the
    local image source's module and build caches or None)."""
    if catalog["image_source"] != "local":
        go_image = str(options.get("go_image") or "golang:1.24-bookworm")
        air = str(options.get("air_version") or "latest")
        mirror = str(options.get("registry_mirror") or "")
        return mirror + go_image, f"go install github.com/air-verse/air@{air} && ", None
    go_image = str(options.get("local_go_image") or "")
    module_cache = str(options.get("module_cache") or "")
    build_cache = str(options.get("build_cache") or "")
    if not go_image or not module_cache.startswith("/") or not build_cache.startswith("/"):
        fail(
            "stack_compose: the dev overlay of the local image source needs local_go_image "
            f"and an absolute module_cache and build_cache; got {go_image!r}, "
            f"{module_cache!r} and {build_cache!r}. Install Go (`go env GOMODCACHE "
            "GOCACHE` names them) or set stack_dev_module_cache and stack_dev_build_cache."
        )
    return go_image, "", {"module_cache": module_cache, "build_cache": build_cache}


def _dev_service(
    c: dict, workspace: str, image: str, install_air: str, caches: dict | None, memory: str
) -> dict:
    """One service of the dev overlay: its clone mounted, air building and running it."""
    http = c["ports"][0]["container"]
    module_dir, package = c["go_package"]["module_dir"], c["go_package"]["package"]
    clone = f"{workspace}/{c['repository']}"
    service = {
        "image": image,
        # The workspace at its own path (read-only), the clone in it writable: the
        # service's go.work (go_build's, with the host's paths) resolves its libraries
        # to their clones here too. go builds in the clone's Go module directory.
        "working_dir": clone if module_dir == "." else f"{clone}/{module_dir}",
        # The owner of the workspace .env (it reads that file), as in the base file.
        "user": c["user"] or "${DEVTOOLS_UID:-1000}:${DEVTOOLS_GID:-1000}",
        "environment": {
            "GOPATH": "/go",
            "GOCACHE": "/go/cache",
            "GOFLAGS": "-buildvcs=false",
            "HOME": "/tmp",  # noqa: S108 - inside the throwaway dev container
            "GOWORK": f"{workspace}/" + WORKFILE.format(name=c["name"]),
        },
        "command": [
            "sh",
            "-c",
            # No go.work where the service replaces no library (go_build writes none):
            # module mode, as its own build. $$: not Compose's interpolation.
            '[ -f "$$GOWORK" ] || export GOWORK=off; '
            f"{install_air}exec air "
            f"--build.cmd 'go build -o /tmp/bin/app {package}' "
            # Built in the clone, run in the service's working directory, where the
            # base file mounts the workspace .env that the services read. build.bin,
            # not build.full_bin: air 1.61 applies its flags after it has resolved
            # full_bin into bin, so a full_bin flag is ignored (it ran ./tmp/main);
            # bin is run as given, through /bin/sh -c.
            f"--build.bin 'cd {c['working_dir']} && exec /tmp/bin/app' "
            "--tmp_dir /tmp/air",
        ],
        "volumes": [
            {"type": "bind", "source": workspace, "target": workspace, "read_only": True},
            {"type": "bind", "source": clone, "target": clone},
            {"type": "volume", "source": "go-cache", "target": "/go"},
        ],
        # go build runs in this container: the compiler needs more memory than the
        # service's own limit (256m killed it compiling the stand-in's gRPC stack).
        "deploy": {"resources": {"limits": {"memory": memory}}},
        "healthcheck": {
            "test": ["CMD", "curl", "-fsS", f"http://127.0.0.1:{http}{c['health_path']}"],
            "start_period": "120s",
        },
    }
    if caches:
        _use_local_caches(service, caches)
    return service


def _use_local_caches(service: dict, caches: dict) -> None:
    """The local image source: this machine's module cache read-only with the proxy off, its
    build cache, and the flags of the stack role's local build, so nothing is fetched or
    compiled again."""
    service["environment"].update(
        GOMODCACHE="/gomodcache",
        GOPROXY="off",
        GOCACHE="/gocache",
        CGO_ENABLED="0",
        GOFLAGS="-buildvcs=false -trimpath",
    )
    service["volumes"] += [
        {
            "type": "bind",
            "source": caches["module_cache"],
            "target": "/gomodcache",
            "read_only": True,
        },
        {"type": "bind", "source": caches["build_cache"], "target": "/gocache"},
    ]


def _compose_test(catalog: dict) -> dict:
    """For test runs: data on tmpfs (nothing kept), no restarts, quicker health checks.

    Each data volume is replaced (same target) by a volume of its own on tmpfs, `<name>-test`,
    not by a tmpfs mount: Docker (20.10) fills a tmpfs mount from the image's directory with
    that directory's mode but root as owner, so Redis (uid 100, /var/lib/redis 750) and
    FerretDB could not write their data; a tmpfs volume is mounted 1777. The user's volumes
    are not touched."""
    services, volumes = {}, {}
    for c in catalog["containers"]:
        svc = {
            "restart": "no",
            "healthcheck": {"interval": "2s", "start_period": c["healthcheck"]["start_period"]},
        }
        data = [v for v in c["volumes"] if v["type"] == "volume"]
        if data:
            svc["volumes"] = [
                {"type": "volume", "source": f"{v['source']}-test", "target": v["target"]}
                for v in data
            ]
            for v in data:
                volumes[f"{v['source']}-test"] = {
                    "name": f"{catalog['project']}-{v['source']}-test",
                    "driver_opts": {"type": "tmpfs", "device": "tmpfs"},
                }
        if c["kind"] == "service":
            svc["environment"] = {"LOG_LEVEL": "warn"}
        services[c["name"]] = svc
    return {"services": services, **({"volumes": volumes} if volumes else {})}
