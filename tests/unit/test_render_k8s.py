"""The Kubernetes renderer (module_utils/_render_k8s.py through the stack_k8s_layout filter):
golden files of the whole layout, and policy checks over every object it renders.

The golden files are tests/unit/golden/k8s/<path>; after an intended change of the render,
rewrite them with `UPDATE_GOLDEN=1 pytest tests/unit/test_render_k8s.py` and review the
diff like code.
"""

import base64
import copy
import os
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.vhvcorp.devtools.plugins.filter import catalog as c
from ansible_collections.vhvcorp.devtools.plugins.module_utils import (
    _env_schema,
    _render_k8s,
    dotenv,
)

REPO = Path(__file__).resolve().parents[2]
GROUP_VARS = REPO / "group_vars" / "all"
GOLDEN = Path(__file__).resolve().parent / "golden" / "k8s"
CONFIG_FILES = {
    "redis": {"redis.conf": "maxmemory 2gb\nmaxmemory-policy allkeys-lru\n"},
    "rabbitmq": {
        "rabbitmq.conf": "load_definitions = /etc/vhvcorp/rabbitmq/definitions.json\n",
        "definitions.json": "{}\n",
    },
}
OPTIONS = {"image_tag": "v1.4.2", "config_files": CONFIG_FILES}


@pytest.fixture(scope="module")
def gv() -> dict:
    data = yaml.safe_load((GROUP_VARS / "stack.yml").read_text())
    data.update(yaml.safe_load((GROUP_VARS / "services.yml").read_text()))
    return data


def catalog_of(gv: dict, services: list) -> dict:
    return c.stack_catalog(
        services,
        gv["devtools_stack_components"],
        {
            "profile": "minimal",
            "profiles": gv["devtools_stack_profiles"],
            "project": "vhvcorp",
            "workspace_dir": "/home/dev/workspace/go-platform",
            "service_limits": gv["devtools_stack_service_limits"],
            "service_health": gv["devtools_stack_service_health"],
            "service_image_prefix": "ghcr.io/vhvplatform/",
            "service_image_tag": "latest",
            "image_source": "registry",
        },
    )


def env_of(services: list) -> dict:
    """The .env the workspace role would write: the schema's defaults, and a value of its
    own for every secret (so a test can look for it)."""
    schema = dotenv.build_schema(_env_schema.SCHEMA, services)
    return {
        name: f"secret-value-of-{name.lower()}" if schema.is_secret(name) else v.default
        for name, v in schema.variables.items()
    }


def layout(gv: dict, services: list | None = None, **options) -> dict:
    services = gv["devtools_services"] if services is None else services
    return c.stack_k8s_layout(
        catalog_of(gv, services), env_of(services), services, {**OPTIONS, **options}
    )


def objects(files: dict, overlay: str | None = None) -> list:
    """Every object of base (and of one overlay's own files)."""
    prefixes = ("base/",) + ((f"overlays/{overlay}/",) if overlay else ())
    return [
        o
        for path, content in files.items()
        if path.startswith(prefixes) and isinstance(content, list)
        for o in content
    ]


def containers(objs: list) -> list:
    return [
        (o["metadata"]["name"], x)
        for o in objs
        if o["kind"] in ("Deployment", "StatefulSet")
        for x in o["spec"]["template"]["spec"]["containers"]
    ]


def test_the_layout_files_match_their_golden_files(gv):
    services = gv["devtools_services"]
    files = c.stack_k8s_files(catalog_of(gv, services), env_of(services), services, OPTIONS)
    if os.environ.get("UPDATE_GOLDEN"):
        for path, text in files.items():
            (GOLDEN / path).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / path).write_text(text)
    on_disk = sorted(str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*.yaml"))
    assert on_disk == sorted(files)
    for path, text in files.items():
        assert text == (GOLDEN / path).read_text(), path


def test_every_container_has_probes_resources_and_no_privilege(gv):
    found = containers(objects(layout(gv)))
    assert len(found) == 9  # six services, mongodb, redis, rabbitmq
    for owner, x in found:
        for probe in ("readinessProbe", "livenessProbe"):
            assert x[probe], (owner, probe)
        assert set(x["resources"]) == {"requests", "limits"}, owner
        assert set(x["resources"]["limits"]) == {"cpu", "memory"}, owner
        assert x["securityContext"]["privileged"] is False, owner


def test_services_run_as_non_root_on_a_read_only_root_and_roll_with_min_ready(gv):
    deployments = [o for o in objects(layout(gv)) if o["kind"] == "Deployment"]
    assert [d["metadata"]["name"] for d in deployments] == [
        s["name"] for s in gv["devtools_services"]
    ]
    for d in deployments:
        spec = d["spec"]
        assert spec["minReadySeconds"] == 10
        assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
        pod = spec["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (x,) = pod["containers"]
        assert x["securityContext"]["readOnlyRootFilesystem"] is True
        assert x["readinessProbe"]["httpGet"]["path"] == "/ready"  # the catalog's health_path
        assert x["livenessProbe"]["httpGet"]["path"] == "/health"


def test_no_secret_value_is_in_a_configmap_and_every_secret_is_in_the_secret(gv):
    files = layout(gv)
    env = env_of(gv["devtools_services"])
    secret_values = {k: v for k, v in env.items() if v.startswith("secret-value-of-")}
    assert len(secret_values) >= 4  # JWT, MongoDB, RabbitMQ, Redis, Grafana ...
    configmaps = [o for o in objects(files) if o["kind"] == "ConfigMap"]
    for cm in configmaps:
        for key, value in cm["data"].items():
            for secret in secret_values.values():
                assert secret not in value, (cm["metadata"]["name"], key)
    (secret,) = [o for o in objects(files) if o["metadata"]["name"] == "vhvcorp-secrets"]
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == secret_values


def test_every_service_selects_the_pods_of_a_workload(gv):
    for overlay in ("local", "prod"):
        objs = objects(layout(gv), overlay)
        pod_labels = [
            o["spec"]["template"]["metadata"]["labels"]
            for o in objs
            if o["kind"] in ("Deployment", "StatefulSet")
        ]
        services = [o for o in objs if o["kind"] == "Service"]
        assert len(services) == 9
        for svc in services:
            wanted = svc["spec"]["selector"].items()
            assert any(wanted <= pod.items() for pod in pod_labels), svc["metadata"]["name"]
            assert svc["spec"]["type"] != "NodePort"


def test_prod_pins_every_service_image_and_adds_budgets_autoscalers_and_policies(gv):
    files = layout(gv)
    prod = files["overlays/prod/kustomization.yaml"]
    pinned = {i["name"]: i["newTag"] for i in prod["images"]}
    images = [x["image"] for name, x in containers(objects(files)) if ":" in x["image"]]
    for image in images:
        name, tag = image.rsplit(":", 1)
        assert pinned.get(name, tag) != "latest", image
    assert set(pinned) == {
        f"ghcr.io/vhvplatform/{s['repository']}" for s in gv["devtools_services"]
    }
    kinds = [o["kind"] for o in files["overlays/prod/prod.yaml"]]
    assert kinds.count("PodDisruptionBudget") == 6
    assert kinds.count("HorizontalPodAutoscaler") == 6
    assert kinds.count("NetworkPolicy") == 2
    assert prod["replicas"][0]["count"] == 3
    assert files["overlays/local/kustomization.yaml"]["replicas"][0]["count"] == 1


def test_prod_needs_a_pinned_tag(gv):
    with pytest.raises(AnsibleFilterError, match="k8s_image_tag is 'latest'; prod runs pinned"):
        layout(gv, image_tag="latest")
    without = layout(gv, image_tag=None)
    assert not [p for p in without if p.startswith("overlays/prod/")]
    assert "overlays/dev/kustomization.yaml" in without


def test_every_object_carries_the_prune_label(gv):
    files = layout(gv)
    for content in files.values():
        for o in content if isinstance(content, list) else []:
            assert o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "vhvcorp.devtools"


def test_an_external_component_is_a_name_for_its_host_and_has_no_statefulset(gv):
    files = layout(gv, external={"mongodb": "db.example.com"})
    (svc,) = files["base/infrastructure/mongodb.yaml"]
    assert svc["spec"] == {"type": "ExternalName", "externalName": "db.example.com"}
    with pytest.raises(AnsibleFilterError, match="k8s_external names \\['kafka'\\]"):
        layout(gv, external={"kafka": "kafka.example.com"})


def test_the_gateway_has_an_ingress_to_its_http_port_by_name(gv):
    files = layout(gv, ingress_host="api.example.com", ingress_class="nginx")
    (ingress,) = files["base/ingress.yaml"]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "api.example.com"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    gateway = files["base/service/api-gateway.yaml"][1]  # its Service
    assert backend["name"] == gateway["metadata"]["name"]
    assert backend["port"]["name"] in [p["name"] for p in gateway["spec"]["ports"]]
    assert "ingress.yaml" in files["base/kustomization.yaml"]["resources"]
    assert "base/ingress.yaml" not in layout(gv, ingress_service=None)
    with pytest.raises(AnsibleFilterError, match="k8s_ingress_service is 'gateway'"):
        layout(gv, ingress_service="gateway")
    with pytest.raises(AnsibleFilterError, match="k8s_ingress_host is 'http://x'"):
        layout(gv, ingress_host="http://x")


def test_min_ready_seconds_given_as_text_is_a_number(gv):
    # As `-e k8s_min_ready_seconds=20` passes it; the API server refused the text.
    deployment = layout(gv, min_ready_seconds="20")["base/service/auth-service.yaml"][0]
    assert deployment["spec"]["minReadySeconds"] == 20
    with pytest.raises(AnsibleFilterError, match="k8s_min_ready_seconds is 'soon'"):
        layout(gv, min_ready_seconds="soon")


def test_pod_annotations_go_on_the_named_pods_only(gv):
    files = layout(
        gv,
        pod_annotations={
            "api-gateway": {"kwok.devtools.vhvcorp/hold-not-ready": "ImagePullBackOff"},
            "redis": {"sidecar.istio.io/inject": "false"},
        },
    )
    templates = {
        o["metadata"]["name"]: o["spec"]["template"]["metadata"].get("annotations", {})
        for o in objects(files)
        if o["kind"] in ("Deployment", "StatefulSet")
    }
    assert templates["api-gateway"]["kwok.devtools.vhvcorp/hold-not-ready"] == "ImagePullBackOff"
    assert templates["api-gateway"]["prometheus.io/scrape"] == "true"  # kept
    assert templates["redis"] == {"sidecar.istio.io/inject": "false"}
    assert templates["user-service"] == layout(gv)["base/service/user-service.yaml"][0]["spec"][
        "template"
    ]["metadata"].get("annotations", {})
    with pytest.raises(AnsibleFilterError, match="k8s_pod_annotations names \\['billing'\\]"):
        layout(gv, pod_annotations={"billing": {"a": "b"}})


def test_a_seventh_service_in_the_catalog_alone_adds_its_objects(gv):
    services = copy.deepcopy(gv["devtools_services"])
    services.append(
        {
            "name": "billing-service",
            "repository": "billing-service",
            "http_port": 8086,
            "grpc_port": 50056,
            "env_prefix": "BILLING_SERVICE",
            "health_path": "/ready",
            "metrics_path": "/metrics",
            "depends_on": ["mongodb"],
        }
    )
    before, after = layout(gv), layout(gv, services)
    added = sorted(set(after) - set(before))
    assert added == ["base/service/billing-service.yaml"]
    deployment, service = after["base/service/billing-service.yaml"]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "8086",
        "prometheus.io/path": "/metrics",
    }
    assert [p["name"] for p in service["spec"]["ports"]] == ["http", "grpc", "metrics"]
    assert "service/billing-service.yaml" in after["base/kustomization.yaml"]["resources"]
    forwards = c.stack_k8s_port_forwards(catalog_of(gv, services), "dev", {"offset": 10000})
    assert forwards["namespace"] == f"{catalog_of(gv, services)['project']}-dev"
    billing = [f for f in forwards["forwards"] if f["service"] == "billing-service"]
    assert billing == [
        {"service": "billing-service", "port": 8086, "local_port": 18086},
        {"service": "billing-service", "port": 50056, "local_port": 60056},
    ]
    settings = {o["kind"]: o for o in after["base/settings.yaml"][:1]}
    assert settings["ConfigMap"]["data"]["BILLING_SERVICE_URL"] == "billing-service:50056"


@pytest.mark.parametrize(
    ("compose", "quantity"),
    [("256m", "256Mi"), ("1g", "1Gi"), ("2304m", "2304Mi"), ("1.5g", "1536Mi"), ("512k", "512Ki")],
)
def test_compose_memory_becomes_a_kubernetes_quantity(compose, quantity):
    assert _render_k8s.memory(compose) == quantity
