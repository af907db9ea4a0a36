"""deploy-local.yml on the harness's control plane (kube-apiserver, controllers and scheduler
1.37.2, kwok nodes): every rendered object applied server-side and every rollout waited for,
a second run that changes nothing, the same for deploy-dev.yml (the dev overlay, in its own
namespace), prune of a service dropped from the catalog (and of nothing else), and every
overlay accepted by the API server's server-side dry run.

kwok plays the nodes: the pods are scheduled and become Ready without a container running,
so this proves the objects, the apply and the rollouts, not the images (see the README)."""

import json
from pathlib import Path

import pytest
import yaml
from k8s_fixtures import COMPONENTS  # tests/: pythonpath

PROJECT = "k8se2e"
CATALOG = Path(__file__).resolve().parents[2] / "group_vars" / "all" / "services.yml"
SERVICES = [s["name"] for s in yaml.safe_load(CATALOG.read_text())["devtools_services"]]


@pytest.fixture(scope="module")
def deploy(k8s_project):
    """Runs deploy-local.yml for PROJECT against the harness's cluster with extra options."""
    return k8s_project(PROJECT)


def recap_changed(stdout: str) -> int:
    line = next(x for x in stdout.splitlines() if x.startswith("localhost "))
    return int(line.split("changed=")[1].split()[0])


def assert_every_workload_ready(kubectl, namespace: str) -> None:
    workloads = json.loads(
        kubectl("get", "deploy,statefulset", "-n", namespace, "-o", "json", check=True).stdout
    )
    ready = {
        (w["kind"], w["metadata"]["name"]): w["status"].get("readyReplicas", 0)
        for w in workloads["items"]
    }
    assert ready == {
        **{("Deployment", name): 1 for name in SERVICES},
        **{("StatefulSet", name): 1 for name in COMPONENTS},
    }


def test_deploy_local_applies_everything_and_waits_for_every_rollout(deploy, kubectl):
    result = deploy()
    assert result.returncode == 0, result.stdout[-4000:]
    assert_every_workload_ready(kubectl, PROJECT)
    fields = json.loads(
        kubectl("get", "deploy", "auth-service", "-n", PROJECT, "-o", "json",
                "--show-managed-fields", check=True).stdout
    )["metadata"]["managedFields"]  # fmt: skip
    assert {f["manager"] for f in fields if f["operation"] == "Apply"} == {"vhvcorp.devtools"}


def test_a_second_run_changes_nothing(deploy):
    result = deploy()
    assert result.returncode == 0, result.stdout[-4000:]
    assert recap_changed(result.stdout) == 0, result.stdout[-4000:]


def test_deploy_dev_reaches_ready_in_its_own_namespace_and_reruns_unchanged(deploy, kubectl):
    result = deploy(playbook_name="deploy-dev.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    assert_every_workload_ready(kubectl, f"{PROJECT}-dev")
    rerun = deploy(playbook_name="deploy-dev.yml")
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    assert recap_changed(rerun.stdout) == 0, rerun.stdout[-4000:]


def test_port_forward_reaches_the_api_server_and_is_refused_by_the_kwok_node(deploy, tmp_path):
    # kwok's nodes have no kubelet: the API server accepts each forward and fails dialing
    # the node's kubelet (127.0.0.1:10250). A real node is needed for the bytes themselves.
    offset = ["-e", "port_forward_offset=10000"]
    result = deploy(*offset, playbook_name="port-forward.yml")
    assert result.returncode != 0, result.stdout[-4000:]
    out = " ".join(result.stdout.split())
    assert "forward(s) did not start" in out, out[-3000:]
    assert (
        "mongodb:27017->37017: error: error upgrading connection: unable to upgrade "
        "connection: error dialing backend: dial tcp 127.0.0.1:10250" in out
    ), out[-3000:]
    for name in (*SERVICES, *COMPONENTS):  # one forward at least for each
        assert f"{name}:" in out, name
    stopped = deploy(*offset, "-e", "state=stopped", playbook_name="port-forward.yml")
    assert stopped.returncode == 0, stopped.stdout[-3000:]
    assert recap_changed(stopped.stdout) == 0
    assert "Stopped: nothing ran" in stopped.stdout


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
        # A dry run creates nothing, its namespace included: make that for real first (the
        # local and dev ones are there already, from the deploys above).
        created = kubectl("create", "namespace", namespace).returncode == 0
        try:
            applied = kubectl(
                "apply", "--server-side", "--field-manager=vhvcorp.devtools",
                "--dry-run=server", "-k", str(out / "overlays" / overlay), "-o", "name",
                check=True,
            ).stdout  # fmt: skip
            assert len(applied.split()) == len(objects), overlay
        finally:
            if created:
                kubectl("delete", "namespace", namespace, "--wait=false")
