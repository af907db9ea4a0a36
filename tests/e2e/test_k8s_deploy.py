"""deploy-local.yml on the harness's control plane (kube-apiserver, controllers and scheduler
1.37.2, kwok nodes): every rendered object applied server-side and every rollout waited for,
a second run that changes nothing, prune of a service dropped from the catalog (and of
nothing else), and every overlay accepted by the API server's server-side dry run.

kwok plays the nodes: the pods are scheduled and become Ready without a container running,
so this proves the objects, the apply and the rollouts, not the images (see the README)."""

import json
from pathlib import Path

import pytest
import yaml
from k8s_fixtures import COMPONENTS, data_volumes, deploy_options  # tests/: pythonpath

PROJECT = "k8se2e"
CATALOG = Path(__file__).resolve().parents[2] / "group_vars" / "all" / "services.yml"
SERVICES = [s["name"] for s in yaml.safe_load(CATALOG.read_text())["devtools_services"]]


@pytest.fixture(scope="module")
def deploy(playbook, make_workspace, kube, kubectl, tmp_path_factory):
    """A workspace with the workspace role's .env; runs deploy-local.yml against the
    harness's cluster with extra options. Deletes its namespace afterwards."""
    workspace = tmp_path_factory.mktemp("k8s") / "ws"
    make_workspace(workspace)
    volumes = data_volumes(PROJECT)
    kubectl("apply", "-f", "-", stdin=json.dumps(volumes), check=True)

    def run(*extra: str):
        return playbook(
            "deploy-local.yml", *deploy_options(kube, workspace, PROJECT), *extra, timeout=900
        )

    yield run
    kubectl("delete", "namespace", PROJECT, "--wait=false")
    kubectl("delete", "pv", *(v["metadata"]["name"] for v in volumes["items"]), "--wait=false")


def recap_changed(stdout: str) -> int:
    line = next(x for x in stdout.splitlines() if x.startswith("localhost "))
    return int(line.split("changed=")[1].split()[0])


def test_deploy_local_applies_everything_and_waits_for_every_rollout(deploy, kubectl):
    result = deploy()
    assert result.returncode == 0, result.stdout[-4000:]
    workloads = json.loads(
        kubectl("get", "deploy,statefulset", "-n", PROJECT, "-o", "json", check=True).stdout
    )
    ready = {
        (w["kind"], w["metadata"]["name"]): w["status"].get("readyReplicas", 0)
        for w in workloads["items"]
    }
    assert ready == {
        **{("Deployment", name): 1 for name in SERVICES},
        **{("StatefulSet", name): 1 for name in COMPONENTS},
    }
    fields = json.loads(
        kubectl("get", "deploy", "auth-service", "-n", PROJECT, "-o", "json",
                "--show-managed-fields", check=True).stdout
    )["metadata"]["managedFields"]  # fmt: skip
    assert {f["manager"] for f in fields if f["operation"] == "Apply"} == {"vhvcorp.devtools"}


def test_a_second_run_changes_nothing(deploy):
    result = deploy()
    assert result.returncode == 0, result.stdout[-4000:]
    assert recap_changed(result.stdout) == 0, result.stdout[-4000:]


def test_prune_removes_a_dropped_service_and_nothing_else(deploy, kubectl, repo_root):
    foreign = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "not-ours", "namespace": PROJECT},
        "data": {"a": "b"},
    }
    kubectl("apply", "-f", "-", stdin=json.dumps(foreign), check=True)
    services = yaml.safe_load((repo_root / "group_vars/all/services.yml").read_text())
    kept = [s for s in services["devtools_services"] if s["name"] != "system-config-service"]
    result = deploy("-e", json.dumps({"devtools_services": kept, "prune": True}))
    assert result.returncode == 0, result.stdout[-4000:]
    names = kubectl(
        "get", "deploy,svc,cm,sts", "-n", PROJECT, "-o", "name", check=True
    ).stdout.split()
    assert "deployment.apps/system-config-service" not in names
    assert "service/system-config-service" not in names
    assert "configmap/not-ours" in names
    assert "deployment.apps/auth-service" in names
    assert "statefulset.apps/mongodb" in names


def test_every_overlay_passes_the_api_servers_dry_run(deploy, kubectl, tmp_path):
    out = tmp_path / "layout"
    result = deploy("-e", f"k8s_output_dir={out}", "-e", "k8s_image_tag=v1.4.2")
    assert result.returncode == 0, result.stdout[-4000:]
    assert (out / "base" / "settings.yaml").stat().st_mode & 0o777 == 0o600
    for overlay in ("local", "dev", "prod"):
        objects = list(
            yaml.safe_load_all(
                kubectl("kustomize", str(out / "overlays" / overlay), check=True).stdout
            )
        )
        namespace = next(o for o in objects if o["kind"] == "Namespace")["metadata"]["name"]
        # A dry run creates nothing, its namespace included: make that for real first.
        kubectl("create", "namespace", namespace)
        try:
            applied = kubectl(
                "apply", "--server-side", "--field-manager=vhvcorp.devtools",
                "--dry-run=server", "-k", str(out / "overlays" / overlay), "-o", "name",
                check=True,
            ).stdout  # fmt: skip
            assert len(applied.split()) == len(objects), overlay
        finally:
            if namespace != PROJECT:
                kubectl("delete", "namespace", namespace, "--wait=false")
