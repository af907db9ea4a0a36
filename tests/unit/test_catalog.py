"""The stack catalog filter (plugins/filter/catalog.py): normalisation and renderers."""

import base64
import hashlib
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.vhvcorp.devtools.plugins.filter import catalog as c
from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_generate import normalize_steps
from ansible_collections.vhvcorp.devtools.plugins.modules import go_build

REPO = Path(__file__).resolve().parents[2]
GROUP_VARS = REPO / "group_vars" / "all"
LOCAL_IMAGES = {
    "base": "vhvcorp-local/debian:bookworm",
    "ferretdb": "vhvcorp-local/ferretdb:1.24",
    "redis": "vhvcorp-local/redis:7.0",
    "rabbitmq": "vhvcorp-local/rabbitmq:3.10-management",
    "prometheus": "vhvcorp-local/prometheus:2.42",
    "jaeger": "vhvcorp-local/jaeger:1.75",
    "go": "vhvcorp-local/golang:bookworm",
}


@pytest.fixture(scope="module")
def gv() -> dict:
    data = yaml.safe_load((GROUP_VARS / "stack.yml").read_text())
    data.update(yaml.safe_load((GROUP_VARS / "services.yml").read_text()))
    return data


def settings(gv, **over):
    s = {
        "profile": gv["devtools_stack_profile"],
        "profiles": gv["devtools_stack_profiles"],
        "custom_components": gv["devtools_stack_custom_components"],
        "services": "all",
        "project": "vhvcorp",
        "workspace_dir": "/home/dev/workspace/go-platform",
        "publish_address": "127.0.0.1",
        "port_offset": 0,
        "restart": "unless-stopped",
        "registry_mirror": "",
        "local_namespace": "vhvcorp-local",
        "service_limits": gv["devtools_stack_service_limits"],
        "service_health": gv["devtools_stack_service_health"],
        "service_image_prefix": "vhvcorp/",
        "service_image_tag": "latest",
        "local_images": LOCAL_IMAGES,
        "image_source": "local",
    }
    s.update(over)
    return s


def build(gv, **over):
    return c.stack_catalog(
        gv["devtools_services"], gv["devtools_stack_components"], settings(gv, **over)
    )


def by_name(cat):
    return {x["name"]: x for x in cat["containers"]}


# --- image source --------------------------------------------------------------------------


def test_auto_takes_the_registry_when_it_answers():
    assert c.stack_image_source("auto", True) == {
        "source": "registry",
        "requested": "auto",
        "warnings": [],
    }


def test_auto_falls_back_to_local_with_a_warning():
    decided = c.stack_image_source("auto", False)
    assert decided["source"] == "local"
    assert "did not answer" in decided["warnings"][0]


@pytest.mark.parametrize("source", ["registry", "local"])
def test_explicit_sources_ignore_the_probe(source):
    assert c.stack_image_source(source, None)["source"] == source
    assert c.stack_image_source(source, False)["source"] == source


def test_auto_without_probe_and_unknown_sources_fail_with_the_value():
    with pytest.raises(AnsibleFilterError, match="not probed"):
        c.stack_image_source("auto", None)
    with pytest.raises(AnsibleFilterError, match="'docker-hub'"):
        c.stack_image_source("docker-hub", True)


# --- profiles and selection ----------------------------------------------------------------


def test_minimal_profile_runs_the_databases_and_every_service(gv):
    cat = build(gv, profile="minimal")
    assert cat["infrastructure"] == ["mongodb", "redis", "rabbitmq"]
    assert cat["services"] == [s["name"] for s in gv["devtools_services"]]
    assert len(cat["services"]) == 6


def test_full_profile_in_local_mode_leaves_grafana_out_and_says_so(gv):
    cat = build(gv, profile="full")
    assert cat["infrastructure"] == ["mongodb", "redis", "rabbitmq", "prometheus", "jaeger"]
    assert {x["name"] for x in cat["skipped"]} == {"grafana"}
    assert any("Left out, as they have no local image: grafana." in w for w in cat["warnings"])
    substituted = " ".join(cat["warnings"])
    assert "vhvcorp-local/ferretdb:1.24 instead of mongo:7.0" in substituted
    assert "jaeger: vhvcorp-local/jaeger:1.75 instead of jaegertracing/all-in-one:1.57" in (
        substituted
    )


def test_local_jaeger_publishes_otlp_the_query_api_and_its_health_port(gv):
    """The local image's own ports (its health on 13133) come after the component's."""
    local = by_name(build(gv, profile="full", port_offset=5))["jaeger"]
    assert [(p["name"], p["container"], p["host"]) for p in local["ports"]] == [
        ("ui", 16686, 16691),
        ("agent", 6831, 6836),
        ("otlp-grpc", 4317, 4322),
        ("otlp-http", 4318, 4323),
        ("health", 13133, 13138),
    ]
    assert local["healthcheck"]["test"] == ["CMD", "curl", "-fsS", "http://127.0.0.1:13133/status"]
    registry = by_name(build(gv, profile="full", image_source="registry"))["jaeger"]
    assert "health" not in [p["name"] for p in registry["ports"]]


def test_full_profile_from_the_registry_has_everything_behind_the_mirror(gv):
    cat = build(
        gv, profile="full", image_source="registry", registry_mirror="mirror.example.com/hub/"
    )
    names = by_name(cat)
    assert cat["infrastructure"] == [
        "mongodb",
        "redis",
        "rabbitmq",
        "prometheus",
        "grafana",
        "jaeger",
    ]
    assert names["mongodb"]["image"] == "mirror.example.com/hub/mongo:7.0"
    assert names["auth-service"]["image"] == "mirror.example.com/hub/vhvcorp/go-auth-service:latest"
    assert names["auth-service"]["healthcheck"]["test"][:2] == ["CMD", "curl"]
    assert cat["warnings"] == [] and cat["substitutions"] == []


def test_enabled_false_removes_a_component_from_any_profile(gv):
    components = dict(gv["devtools_stack_components"])
    components["rabbitmq"] = dict(components["rabbitmq"], enabled=False)
    cat = c.stack_catalog(gv["devtools_services"], components, settings(gv, profile="minimal"))
    assert "rabbitmq" not in cat["infrastructure"]
    notification = by_name(cat)["notification-service"]
    assert notification["depends_on"] == ["mongodb"]  # rabbitmq dropped, not dangling
    assert "RABBITMQ_URL" not in notification["environment"]


def test_custom_profile_and_a_subset_of_services(gv):
    cat = build(
        gv, profile="custom", custom_components=["mongodb"], services="auth-service,user-service"
    )
    assert cat["infrastructure"] == ["mongodb"]
    assert cat["services"] == ["auth-service", "user-service"]
    assert by_name(cat)["auth-service"]["depends_on"] == ["mongodb"]


def test_infrastructure_only(gv):
    cat = build(gv, profile="custom", services=[])
    assert cat["services"] == []
    assert cat["infrastructure"] == ["mongodb", "redis", "rabbitmq", "prometheus"]


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"profile": "huge"}, "'huge'"),
        ({"profile": "custom", "custom_components": ["kafka"]}, "kafka"),
        ({"services": ["billing-service"]}, "billing-service"),
        ({"image_source": "auto"}, "decide `auto`"),
        ({"workspace_dir": "relative/dir"}, "absolute"),
        ({"project": "Bad Name"}, "'Bad Name'"),
    ],
)
def test_bad_settings_fail_naming_the_value(gv, over, message):
    with pytest.raises(AnsibleFilterError, match=message):
        build(gv, **over)


def test_bad_catalog_entries_fail_naming_them(gv):
    services = [dict(gv["devtools_services"][1], http_port=70000)]
    with pytest.raises(AnsibleFilterError, match="auth-service.*70000"):
        c.stack_catalog(services, gv["devtools_stack_components"], settings(gv))
    services = [dict(gv["devtools_services"][1], depends_on=["kafka"])]
    with pytest.raises(AnsibleFilterError, match="'kafka'"):
        c.stack_catalog(services, gv["devtools_stack_components"], settings(gv))
    services = [
        dict(gv["devtools_services"][1], depends_on=["user-service"]),
        dict(gv["devtools_services"][2], depends_on=["auth-service"]),
    ]
    with pytest.raises(AnsibleFilterError, match="auth-service -> user-service -> auth-service"):
        c.stack_catalog(services, gv["devtools_stack_components"], settings(gv))


def test_the_defaults_are_the_real_platform_s_repositories_and_main_packages(gv):
    """github.com/vhvplatform's go-<name> repositories, their main packages (tenant's in
    cmd/tenant, auth's module in server/), notification without gRPC, go-shared beside."""
    assert gv["devtools_git_org"] == "vhvplatform"
    names = by_name(build(gv))
    layout = {
        n: (names[n]["build"]["source_dir"].split("/go-platform/")[1], names[n]["build"]["package"])
        for n in names
        if names[n]["kind"] == "service"
    }
    assert layout == {
        "api-gateway": ("go-api-gateway", "./cmd"),
        "auth-service": ("go-auth-service/server", "./cmd"),
        "user-service": ("go-user-service", "./cmd"),
        "tenant-service": ("go-tenant-service", "./cmd/tenant"),
        "notification-service": ("go-notification-service", "./cmd"),
        "system-config-service": ("go-system-config-service", "./cmd"),
    }
    assert build(gv, libraries=gv["devtools_libraries"])["libraries"] == [
        {
            "name": "go-shared",
            "repository": "go-shared",
            "module": "github.com/vhvplatform/go-shared",
            "dir": "/home/dev/workspace/go-platform/go-shared",
        }
    ]


def test_a_service_s_build_is_normalised_and_overridable(gv):
    over = dict(
        gv["devtools_services"][2],
        build={"module_dir": "./srv/", "package": "cmd/api/"},
        depends_on=[],
    )
    built = by_name(
        c.stack_catalog([over], {}, settings(gv, profile="custom", custom_components=[]))
    )
    build = built["user-service"]["build"]
    assert {k: v for k, v in build.items() if k != "generate"} == {
        "repository": "go-user-service",
        "module_dir": "srv",
        "source_dir": "/home/dev/workspace/go-platform/go-user-service/srv",
        "package": "./cmd/api",
        "binary": "user-service",  # the service's name when not given
        # Generation runs in the clone, not in the module's directory.
        "clone_dir": "/home/dev/workspace/go-platform/go-user-service",
    }


@pytest.mark.parametrize(
    ("build_", "message"),
    [
        ({"module_dir": "../elsewhere"}, r"module_dir is '\.\./elsewhere'; give a path inside"),
        ({"package": "/abs/cmd"}, r"package is '/abs/cmd'"),
    ],
)
def test_a_build_outside_the_clone_fails_naming_it(gv, build_, message):
    bad = dict(gv["devtools_services"][2], build=build_, depends_on=[])
    with pytest.raises(
        AnsibleFilterError, match=r"devtools_services\[user-service\]\.build\." + message
    ):
        c.stack_catalog([bad], {}, settings(gv, profile="custom", custom_components=[]))


@pytest.mark.parametrize(
    ("libraries", "message"),
    [
        ([{"name": "x"}], "devtools_libraries\\[0\\] is .*give its module"),
        ([{"module": "m", "repository": "Bad Name"}], "repository is 'Bad Name'"),
        ([{"module": "m", "repository": "a"}, {"module": "m", "repository": "b"}], "listed twice"),
    ],
)
def test_bad_libraries_fail_naming_them(gv, libraries, message):
    with pytest.raises(AnsibleFilterError, match=message):
        build(gv, libraries=libraries)


# --- the normalised containers -------------------------------------------------------------


def test_services_get_their_ports_env_and_the_infrastructure_by_name(gv):
    auth = by_name(build(gv))["auth-service"]
    assert auth["env_file"] is True
    env = auth["environment"]
    assert env["SERVICE_NAME"] == "auth-service"
    # Its ports reach it as the .env's AUTH_SERVICE_HTTP_PORT and AUTH_SERVICE_PORT only.
    assert not {"HTTP_PORT", "GRPC_PORT"} & set(env)
    assert env["MONGODB_URI"] == "mongodb://mongodb:27017"
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["RABBITMQ_URL"].endswith("@rabbitmq:5672/")
    assert [(p["host_ip"], p["host"], p["container"]) for p in auth["ports"]] == [
        ("127.0.0.1", 8081, 8081),
        ("127.0.0.1", 50051, 50051),
    ]
    assert auth["health_url"] == "http://127.0.0.1:8081/ready"
    assert auth["healthcheck"]["test"] == [
        "CMD",
        "/usr/local/bin/healthprobe",
        "-http",
        "http://127.0.0.1:8081/ready",
        "-grpc",
        "127.0.0.1:50051",
    ]
    # The real platform's layout: auth's Go module is in server/ of go-auth-service.
    assert auth["build"] == {
        "repository": "go-auth-service",
        "module_dir": "server",
        "source_dir": "/home/dev/workspace/go-platform/go-auth-service/server",
        "package": "./cmd",
        "binary": "auth-service",
        "clone_dir": "/home/dev/workspace/go-platform/go-auth-service",
        # As the catalog says it, checked (tests/unit/test_go_generate.py: the command).
        "generate": normalize_steps(gv["devtools_services"][1]["generate"], "auth"),
    }
    # The real auth serves no /metrics: nothing to scrape.
    assert auth["metrics"] is None


def test_port_offset_and_publish_address_apply_to_host_ports_only(gv):
    cat = build(gv, port_offset=10000, publish_address="0.0.0.0")  # noqa: S104 - a value under test
    names = by_name(cat)
    assert [(p["host_ip"], p["host"], p["container"]) for p in names["mongodb"]["ports"]] == [
        ("0.0.0.0", 37017, 27017)  # noqa: S104
    ]
    assert names["api-gateway"]["health_url"] == "http://127.0.0.1:18080/ready"
    assert names["api-gateway"]["metrics"]["target"] == "api-gateway:8080"


def test_local_health_checks_are_the_probe_asking_ready_and_grpc_where_the_catalog_says(gv):
    """No service binary is asked for a flag of ours: the probe asks the catalog's
    health_path on the container's HTTP port, and gRPC health only with grpc_health."""
    names = by_name(build(gv, port_offset=10000))
    grpc = {"auth-service", "user-service", "tenant-service", "system-config-service"}
    for svc in gv["devtools_services"]:
        x = names[svc["name"]]
        expected = [
            "CMD",
            "/usr/local/bin/healthprobe",
            "-http",
            f"http://127.0.0.1:{svc['http_port']}/ready",
        ]
        if svc["name"] in grpc:
            expected += ["-grpc", f"127.0.0.1:{svc['grpc_port']}"]
        assert x["healthcheck"]["test"] == expected, svc["name"]
        assert x["grpc_health"] is (svc["name"] in grpc)
    # notification-service has no gRPC port (the real one serves HTTP only).
    assert [p["container"] for p in names["notification-service"]["ports"]] == [8084]
    # Registry images keep the HTTP check compose gives them (curl of health_path).
    registry = by_name(build(gv, image_source="registry"))["user-service"]
    assert registry["healthcheck"]["test"] == [
        "CMD", "curl", "-fsS", "http://127.0.0.1:8082/ready",
    ]  # fmt: skip


def test_grpc_health_defaults_to_false_and_needs_a_grpc_port(gv):
    auth = {k: v for k, v in gv["devtools_services"][1].items() if k != "grpc_health"}
    cat = c.stack_catalog([auth], gv["devtools_stack_components"], settings(gv))
    x = by_name(cat)["auth-service"]
    assert x["grpc_health"] is False
    assert "-grpc" not in x["healthcheck"]["test"]
    services = [dict(gv["devtools_services"][0], grpc_health=True)]  # api-gateway: no gRPC
    with pytest.raises(
        AnsibleFilterError, match="api-gateway.*grpc_health is true but it has no grpc_port"
    ):
        c.stack_catalog(services, gv["devtools_stack_components"], settings(gv))
    services = [dict(auth, grpc_health="yes please")]
    with pytest.raises(
        AnsibleFilterError, match="grpc_health is 'yes please'; write true or false"
    ):
        c.stack_catalog(services, gv["devtools_stack_components"], settings(gv))


def test_a_service_binary_cannot_take_the_probe_s_place(gv):
    services = [
        dict(gv["devtools_services"][1], build={"package": "./cmd", "binary": "healthprobe"})
    ]
    with pytest.raises(AnsibleFilterError, match="binary is 'healthprobe', the health probe's"):
        c.stack_catalog(services, gv["devtools_stack_components"], settings(gv))


def test_generation_is_asked_by_auth_and_user_only_and_checked_with_the_catalog(gv):
    services = by_name(build(gv))
    asked = {n: x["build"]["generate"] for n, x in services.items() if x["kind"] == "service"}
    assert [n for n, steps in asked.items() if steps] == ["auth-service", "user-service"]
    # user-service's docs package, as swag init makes it (the command: test_go_generate.py).
    assert [(s["tool"], s["main"], s["output"]) for s in asked["user-service"]] == [
        ("swag", "cmd/main.go", "docs")
    ]
    wrong = [dict(gv["devtools_services"][1], generate=[{"tool": "buf"}])]
    with pytest.raises(
        AnsibleFilterError,
        match=r"devtools_services\[auth-service\]\.generate\[0\]\.tool is 'buf'; choose one of",
    ):
        c.stack_catalog(wrong, gv["devtools_stack_components"], settings(gv))
    # The registry source builds nothing, and generates nothing.
    assert by_name(build(gv, image_source="registry"))["auth-service"]["build"] is None


def test_auths_protoc_step_includes_the_googleapis_protos_the_go_tools_role_unpacks(gv):
    """auth's protos import google/api/annotations.proto: its protoc step has on its include
    path the directory where the go_tools role unpacks googleapis' protos on the host (the
    real protoc compiles with it: tests/integration/test_go_generate.py)."""
    defaults = yaml.safe_load((REPO / "roles/go_tools/defaults/main.yml").read_text())
    role_dir = defaults["go_tools_proto_dir"]
    assert role_dir.startswith("{{ ansible_facts.env.HOME }}/")
    (step,) = by_name(build(gv))["auth-service"]["build"]["generate"]
    assert step["include"] == [".", "~/" + role_dir.split("}}/", 1)[1]]
    assert [p["name"] for p in step["plugins"]] == ["go", "go-grpc", "grpc-gateway"]
    assert [p["name"] for p in defaults["go_tools_proto_packages"]] == ["googleapis-common-protos"]


def test_health_endpoints_ask_grpc_health_only_where_the_catalog_says(gv):
    endpoints = c.stack_health_endpoints(build(gv))
    grpc = sorted(e["name"] for e in endpoints if e["kind"] == "grpc")
    assert grpc == [
        "auth-service grpc",
        "system-config-service grpc",
        "tenant-service grpc",
        "user-service grpc",
    ]
    http = {e["name"]: e["url"] for e in endpoints if e["kind"] == "http"}
    assert http["notification-service"] == "http://127.0.0.1:8084/ready"


def test_every_container_has_a_health_check_limits_and_restart(gv):
    for profile in ("minimal", "full"):
        for source in ("local", "registry"):
            for x in build(gv, profile=profile, image_source=source)["containers"]:
                assert x["healthcheck"]["test"][0] == "CMD", x["name"]
                assert x["limits"]["memory"] and x["limits"]["cpus"] > 0, x["name"]
                assert x["restart"] == "unless-stopped"


# --- compose -------------------------------------------------------------------------------


def test_base_compose_file(gv):
    cat = build(gv, profile="full")
    compose = c.stack_compose(cat, "base")
    assert compose["name"] == "vhvcorp"
    assert list(compose["networks"]) == ["vhvcorp-net"]
    assert set(compose["volumes"]) == {
        "mongodb-data",
        "redis-data",
        "rabbitmq-data",
        "prometheus-data",
    }
    gateway = compose["services"]["api-gateway"]
    assert gateway["depends_on"] == {
        d: {"condition": "service_healthy"}
        for d in ["redis", "auth-service", "user-service", "tenant-service"]
    }
    assert gateway["env_file"] == ["/home/dev/workspace/go-platform/.env"]
    assert gateway["deploy"]["resources"]["limits"] == {"memory": "256m", "cpus": "0.5"}
    redis = compose["services"]["redis"]
    assert {"type": "bind", "source": "/home/dev/workspace/go-platform/deploy/config/redis",
            "target": "/usr/local/etc/redis", "read_only": True} in redis["volumes"]  # fmt: skip
    assert all(
        p["host_ip"] == "127.0.0.1"
        for s in compose["services"].values()
        for p in s.get("ports", [])
    )


def test_services_read_the_workspace_env_as_a_file_in_their_working_directory(gv):
    """go-shared's config reads `.env` in the working directory and exits without one."""
    for source in ("local", "registry"):
        compose = c.stack_compose(build(gv, image_source=source, service_user="1000:1001"), "base")
        for name in gv["devtools_services"]:
            svc = compose["services"][name["name"]]
            assert svc["working_dir"] == "/app"
            assert {"type": "bind", "source": "/home/dev/workspace/go-platform/.env",
                    "target": "/app/.env", "read_only": True} in svc["volumes"]  # fmt: skip
            # ... and as the environment, as before.
            assert svc["env_file"] == ["/home/dev/workspace/go-platform/.env"]
            # The file is 0600: the service runs as its owner.
            assert svc["user"] == "1000:1001"
        assert "working_dir" not in compose["services"]["mongodb"]
        assert "user" not in compose["services"]["mongodb"]
    # Without an owner (a catalog rendered without the .env), the image's user.
    assert "user" not in c.stack_compose(build(gv), "base")["services"]["auth-service"]
    # The service's variables of the infrastructure name the containers.
    env = by_name(build(gv))["auth-service"]["environment"]
    assert (env["REDIS_HOST"], env["REDIS_PORT"]) == ("redis", "6379")


def test_dev_overlay_mounts_the_sources_and_runs_air(gv):
    cat = build(gv, image_source="registry")
    dev = c.stack_compose(
        cat, "dev", {"go_image": "golang:1.24-bookworm", "air_version": "v1.61.7"}
    )
    assert set(dev["services"]) == set(cat["services"])
    auth = dev["services"]["auth-service"]
    assert auth["image"] == "golang:1.24-bookworm"
    ws = "/home/dev/workspace/go-platform"
    # The workspace at its own path, read-only (the libraries' clones, the go.work files),
    # and the clone in it writable.
    assert auth["volumes"][:2] == [
        {"type": "bind", "source": ws, "target": ws, "read_only": True},
        {"type": "bind", "source": f"{ws}/go-auth-service", "target": f"{ws}/go-auth-service"},
    ]
    # go building its main package in its Go module's directory, with its own go.work
    # (go_build's: go-shared resolved to the workspace's clone), or none where it has none.
    assert auth["working_dir"] == f"{ws}/go-auth-service/server"
    assert dev["services"]["user-service"]["working_dir"] == f"{ws}/go-user-service"
    assert auth["environment"]["GOWORK"] == f"{ws}/deploy/build/auth-service/go.work"
    assert auth["command"][2].startswith('[ -f "$$GOWORK" ] || export GOWORK=off; go install')
    assert "go build -o /tmp/bin/app ./cmd'" in auth["command"][2]
    assert "air@v1.61.7" in auth["command"][2]
    # Built in the clone, run where the base file mounts the .env: as build.bin, since air
    # 1.61.7 ignores a build.full_bin flag (it ran its default ./tmp/main, not found).
    assert "--build.bin 'cd /app && exec /tmp/bin/app'" in auth["command"][2]
    assert "full_bin" not in auth["command"][2]
    # air runs go build in the container: above the service's 256m, which killed the compiler.
    assert auth["deploy"] == {"resources": {"limits": {"memory": "1g"}}}


def test_local_dev_overlay_runs_the_local_go_image_on_this_machines_module_cache(gv):
    """No registry image and no download: air is in the image, modules come read-only
    from the module cache the services' local build has just filled."""
    options = {
        "go_image": "golang:1.24-bookworm",
        "air_version": "v1.61.7",
        "local_go_image": "vhvcorp-local/golang:bookworm",
        "module_cache": "/home/dev/go/pkg/mod",
        "build_cache": "/home/dev/.cache/go-build",
    }
    auth = c.stack_compose(build(gv), "dev", options)["services"]["auth-service"]
    assert auth["image"] == "vhvcorp-local/golang:bookworm"
    assert auth["command"][2].startswith(
        '[ -f "$$GOWORK" ] || export GOWORK=off; '
        "exec air --build.cmd 'go build -o /tmp/bin/app ./cmd'"
    )
    assert "go install" not in auth["command"][2]
    assert auth["environment"]["GOPROXY"] == "off"
    assert auth["environment"]["GOMODCACHE"] == "/gomodcache"
    assert {"type": "bind", "source": "/home/dev/go/pkg/mod", "target": "/gomodcache",
            "read_only": True} in auth["volumes"]  # fmt: skip
    with pytest.raises(
        AnsibleFilterError,
        match="needs local_go_image and an absolute module_cache and build_cache",
    ):
        c.stack_compose(build(gv), "dev", {**options, "module_cache": "~/go/pkg/mod"})


def test_local_dev_overlay_compiles_with_this_machines_build_cache_and_build_flags(gv):
    """air's first build reuses what the services' local build (go_build: -trimpath, no
    cgo) compiled: more than 10 minutes in an empty cache on two busy cores, 90 s with it."""
    options = {
        "local_go_image": "vhvcorp-local/golang:bookworm",
        "module_cache": "/home/dev/go/pkg/mod",
        "build_cache": "/home/dev/.cache/go-build",
    }
    auth = c.stack_compose(build(gv), "dev", options)["services"]["auth-service"]
    assert {"type": "bind", "source": "/home/dev/.cache/go-build", "target": "/gocache"} in (
        auth["volumes"]
    )
    environment = auth["environment"]
    assert environment["GOCACHE"] == "/gocache"
    # go_build's flags and environment, which the compiled packages' cache keys depend on.
    assert (environment["CGO_ENABLED"], environment["GOFLAGS"]) == (
        "0",
        "-buildvcs=false -trimpath",
    )
    assert {"-trimpath", "-buildvcs=false"} <= set(go_build.argument_spec()["flags"]["default"])
    assert go_build.argument_spec()["environment"]["default"] == {"CGO_ENABLED": "0"}
    with pytest.raises(AnsibleFilterError, match="set stack_dev_module_cache and stack_dev_build"):
        c.stack_compose(build(gv), "dev", {**options, "build_cache": ""})


def test_test_overlay_puts_data_on_tmpfs_without_restarts(gv):
    test = c.stack_compose(build(gv), "test")
    mongodb = test["services"]["mongodb"]
    assert mongodb["restart"] == "no"
    # A tmpfs volume of its own at the data volume's target (not a tmpfs mount: Docker
    # mounts those root-owned, which FerretDB and Redis cannot write), the user's untouched.
    assert mongodb["volumes"] == [
        {"type": "volume", "source": "mongodb-data-test", "target": "/var/lib/ferretdb"}
    ]
    assert test["volumes"]["mongodb-data-test"] == {
        "name": "vhvcorp-mongodb-data-test",
        "driver_opts": {"type": "tmpfs", "device": "tmpfs"},
    }
    with pytest.raises(AnsibleFilterError, match="'prod'"):
        c.stack_compose(build(gv), "prod")


# --- configuration -------------------------------------------------------------------------


def test_prometheus_scrapes_only_the_services_that_expose_metrics(gv):
    """The real platform serves /metrics on the gateway and notification only: the others
    are not scraped (their catalog entries say metrics_path: null), so no target is down
    for want of a path the service never served."""
    cat = build(gv, profile="full")
    config = c.stack_prometheus_config(cat, "15s")
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert set(jobs) == {"prometheus", "api-gateway", "notification-service"}
    assert jobs["notification-service"]["static_configs"][0]["targets"] == [
        "notification-service:8084"
    ]
    assert jobs["api-gateway"]["metrics_path"] == "/metrics"
    rules = c.stack_prometheus_rules(cat)["groups"][0]["rules"]
    down = next(r for r in rules if r["alert"] == "ServiceDown")
    assert down["expr"].startswith('up{job=~"prometheus|api-gateway|notification-service"}')
    # The registry's images are the same services: the same jobs.
    registry = c.stack_prometheus_config(build(gv, profile="full", image_source="registry"))
    assert {j["job_name"] for j in registry["scrape_configs"]} == set(jobs)


def test_the_demo_is_scraped_on_every_service(gv):
    """The demo service serves /metrics whichever service it plays: every one is scraped."""
    demo = build(
        gv, profile="full", demo=True, demo_dir="/c/roles/stack/files/demo-service",
        demo_package="./cmd",
    )  # fmt: skip
    jobs = {j["job_name"]: j for j in c.stack_prometheus_config(demo)["scrape_configs"]}
    assert set(jobs) == {"prometheus"} | set(demo["services"])
    assert jobs["user-service"]["static_configs"][0]["targets"] == ["user-service:8082"]
    assert jobs["user-service"]["metrics_path"] == "/metrics"


def test_a_service_given_a_metrics_path_is_scraped_there(gv):
    services = [
        dict(s, metrics_path="/internal/metrics") if s["name"] == "tenant-service" else s
        for s in gv["devtools_services"]
    ]
    cat = c.stack_catalog(services, gv["devtools_stack_components"], settings(gv, profile="full"))
    jobs = {j["job_name"]: j for j in c.stack_prometheus_config(cat)["scrape_configs"]}
    assert jobs["tenant-service"]["metrics_path"] == "/internal/metrics"
    assert "auth-service" not in jobs


def test_alert_rules_use_the_architecture_metrics(gv):
    rules = c.stack_prometheus_rules(build(gv, profile="full"))["groups"][0]["rules"]
    by_alert = {r["alert"]: r for r in rules}
    assert 'http_requests_total{status=~"5.."}' in by_alert["HighErrorRate"]["expr"]
    assert by_alert["ServiceDown"]["expr"].startswith(
        'up{job=~"prometheus|api-gateway|notification-service"}'
    )
    assert by_alert["ServiceDown"]["labels"]["severity"] == "critical"


def test_grafana_dashboards_and_datasources(gv):
    dashboards = c.stack_grafana_dashboards(build(gv, profile="full", image_source="registry"))
    assert set(dashboards) == {
        "service-overview.json",
        "resource-usage.json",
        "business-metrics.json",
    }
    exprs = " ".join(
        t["expr"] for d in dashboards.values() for p in d["panels"] for t in p["targets"]
    )
    for metric in (
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "grpc_server_handled_total",
        "go_goroutines",
        "go_memstats_alloc_bytes",
        "process_cpu_seconds_total",
        "user_registrations_total",
        "login_attempts_total",
        "notifications_sent_total",
    ):
        assert metric in exprs, metric
    sources = {d["type"]: d["url"] for d in c.stack_grafana_datasources({})["datasources"]}
    assert sources == {"prometheus": "http://prometheus:9090", "jaeger": "http://jaeger:16686"}


def test_rabbitmq_definitions_follow_the_architecture(gv):
    d = c.rabbitmq_definitions(gv["devtools_stack_rabbitmq_topology"], "guest", "s3cret", "/")
    exchanges = {e["name"]: e["type"] for e in d["exchanges"]}
    assert exchanges == {"dlx": "direct", "notifications": "topic", "events": "fanout"}
    bindings = {(b["source"], b["destination"], b["routing_key"]) for b in d["bindings"]}
    assert ("notifications", "notifications.email", "email.*") in bindings
    assert ("notifications", "notifications.sms", "sms.*") in bindings
    assert ("notifications", "notifications.push", "push.*") in bindings
    assert {
        ("events", q, "") for q in ("audit.logs", "analytics.events", "webhooks.dispatch")
    } <= bindings
    assert ("dlx", "dlx.failed", "failed") in bindings
    assert all(q["durable"] for q in d["queues"]) and all(e["durable"] for e in d["exchanges"])
    assert d["queues"][1]["arguments"]["x-dead-letter-exchange"] == "dlx"
    assert "s3cret" not in str(d)


def test_rabbitmq_password_hash_is_rabbits_salted_sha256_and_stable():
    digest = base64.b64decode(c.rabbitmq_password_hash("s3cret", "guest"))
    salt, hashed = digest[:4], digest[4:]
    assert hashed == hashlib.sha256(salt + b"s3cret").digest()
    assert c.rabbitmq_password_hash("s3cret", "guest") == c.rabbitmq_password_hash(
        "s3cret", "guest"
    )
    assert c.rabbitmq_password_hash("other", "guest") != c.rabbitmq_password_hash("s3cret", "guest")


# --- status --------------------------------------------------------------------------------


def test_status_rows_from_compose_ps_json_lines():
    out = (
        '{"Service":"redis","State":"running","Health":"healthy","Publishers":'
        '[{"URL":"127.0.0.1","TargetPort":6379,"PublishedPort":6379,"Protocol":"tcp"}]}\n'
        '{"Service":"mongodb","State":"exited","Health":"","Publishers":[]}\n'
    )
    rows = c.stack_status_rows(out)
    assert rows == [
        {"service": "mongodb", "state": "exited", "health": "-", "ports": "-"},
        {
            "service": "redis",
            "state": "running",
            "health": "healthy",
            "ports": "127.0.0.1:6379->6379/tcp",
        },
    ]
    assert c.stack_status_rows("[]") == []
    table = c.stack_table(rows).splitlines()
    assert table[0].split() == ["SERVICE", "STATE", "HEALTH", "PORTS"]
    assert table[2].startswith("redis    running  healthy")
    assert c.stack_unhealthy(rows) == ["mongodb (exited, -)"]


def test_dotenv_values_reads_the_workspace_file():
    assert c.dotenv_values("# c\nA=1\nB='x y'\n") == {"A": "1", "B": "x y"}
    with pytest.raises(AnsibleFilterError, match="line 1"):
        c.dotenv_values("not a line\n")


def test_the_demo_builds_every_service_from_the_demo_dir_and_its_package(gv):
    demo = {"demo": True, "demo_dir": "/collections/vhvcorp/devtools/roles/stack/files/demo"}
    cat = build(gv, demo_package="./cmd", **demo)
    assert cat["demo"] is True
    for service in gv["devtools_services"]:
        container = by_name(cat)[service["name"]]
        assert container["build"]["source_dir"] == demo["demo_dir"]
        assert container["build"]["package"] == "./cmd"
        assert container["build"]["binary"] == service["build"]["binary"]
        # The demo carries all its code: none of the catalog's generation runs.
        assert container["build"]["generate"] == []
    # Its library is the demo's own, beside it in the collection, whatever the catalog says.
    assert cat["libraries"] == [
        {
            "name": "demo-shared",
            "repository": "demo-shared",
            "module": "github.com/vhvcorp/demo-shared",
            "dir": "/collections/vhvcorp/devtools/roles/stack/files/demo-shared",
        }
    ]
    # Without the demo: each from its clone in the workspace.
    clone = by_name(build(gv))["auth-service"]["build"]
    assert clone["source_dir"] == "/home/dev/workspace/go-platform/go-auth-service/server"
    assert build(gv)["demo"] is False
    # Registry images are not built: no demo there.
    assert build(gv, image_source="registry", demo_package="./cmd", **demo)["demo"] is False
    with pytest.raises(AnsibleFilterError, match="demo_dir and demo_package"):
        build(gv, demo=True)


@pytest.mark.parametrize(
    ("component", "offset", "address", "url"),
    [
        ("grafana", 0, "127.0.0.1", "http://127.0.0.1:3000/"),
        ("prometheus", 0, "127.0.0.1", "http://127.0.0.1:9090/"),
        ("jaeger", 0, "127.0.0.1", "http://127.0.0.1:16686/"),
        # The management page, not the first port (amqp); the offset applies.
        ("rabbitmq", 10000, "127.0.0.1", "http://127.0.0.1:25672/"),
        # Published on every address: reached at 127.0.0.1.
        ("prometheus", 0, "0.0.0.0", "http://127.0.0.1:9090/"),  # noqa: S104
        ("prometheus", 0, "192.0.2.7", "http://192.0.2.7:9090/"),
    ],
)
def test_web_url_is_the_catalogs_published_web_port(gv, component, offset, address, url):
    components = gv["devtools_stack_components"]
    assert c.stack_web_url(components, component, offset, address) == url


def test_web_url_of_a_component_without_a_page_names_those_with_one(gv):
    with pytest.raises(
        AnsibleFilterError,
        match="'redis' has no web page to open; choose one of grafana, jaeger, prometheus, "
        "rabbitmq",
    ):
        c.stack_web_url(gv["devtools_stack_components"], "redis")
    broken = {"x": {"web_port": "ui", "ports": [{"name": "web", "container": 80}]}}
    with pytest.raises(
        AnsibleFilterError,
        match=r"x.web_port is 'ui', but none of its ports has that name; name one of \['web'\]",
    ):
        c.stack_web_url(broken, "x")
