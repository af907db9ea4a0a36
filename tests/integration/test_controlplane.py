"""The harness's Kubernetes control plane (tests/harness/controlplane.py): the API server,
the controllers and the scheduler of 1.37.2 with kwok nodes, and the kubectl the
kube_tools role built with its go method."""

import json
import uuid

import yaml


def test_kubectl_built_by_the_role_and_the_server_are_both_1_37_2(kubectl):
    result = kubectl("version", "-o", "json")
    assert result.returncode == 0, result.stderr
    versions = json.loads(result.stdout)
    assert versions["clientVersion"]["gitVersion"] == "v1.37.2"
    assert versions["serverVersion"]["gitVersion"] == "v1.37.2"


def test_the_kwok_nodes_are_ready(kube, kubectl):
    result = kubectl("get", "nodes", "-l", "type=kwok", "-o", "json")
    assert result.returncode == 0, result.stderr
    nodes = json.loads(result.stdout)["items"]
    ready = {
        n["metadata"]["name"]
        for n in nodes
        for c in n["status"]["conditions"]
        if c["type"] == "Ready" and c["status"] == "True"
    }
    assert ready == set(kube["nodes"])


def test_a_deployment_applied_server_side_rolls_out_on_the_kwok_nodes(
    kube, kubectl, ansible, repo_root, tmp_path
):
    """kubernetes.core.k8s applies server-side with our field manager and waits: the
    scheduler binds the pods, the controllers count them ready, a changed image rolls out,
    and a second apply changes nothing."""
    namespace = f"harness-{uuid.uuid4().hex[:8]}"
    play = [
        {
            "name": "Apply a Deployment twice, then roll out a new image.",
            "hosts": "localhost",
            "gather_facts": False,
            "module_defaults": {
                "kubernetes.core.k8s": {
                    "kubeconfig": kube["kubeconfig"],
                    "apply": True,
                    "server_side_apply": {"field_manager": "vhvcorp.devtools"},
                    "wait": True,
                    "wait_timeout": 120,
                }
            },
            "tasks": [
                {
                    "name": "Apply the namespace and the Deployment.",
                    "kubernetes.core.k8s": {"definition": "{{ objects }}"},
                    "register": "first",
                },
                {
                    "name": "Apply them again.",
                    "kubernetes.core.k8s": {"definition": "{{ objects }}"},
                    "register": "second",
                },
                {
                    "name": "Apply a new image.",
                    "kubernetes.core.k8s": {
                        "definition": "{{ objects[1] | combine(new_image, recursive=true) }}"
                    },
                    "register": "rolled",
                },
            ],
        }
    ]
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "demo", "namespace": namespace},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "demo"}},
            "template": {
                "metadata": {"labels": {"app": "demo"}},
                "spec": {"containers": [{"name": "demo", "image": "demo:1"}]},
            },
        },
    }
    variables = {
        "objects": [
            # Labelled like the layout's: a Namespace applied with no labels at all gets its
            # server-set label taken over once, on the second apply, which reports a change.
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": namespace, "labels": {"app": "demo"}},
            },
            deployment,
        ],
        "new_image": {
            "spec": {"template": {"spec": {"containers": [{"name": "demo", "image": "demo:2"}]}}}
        },
    }
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    (tmp_path / "vars.json").write_text(json.dumps(variables))
    try:
        result = ansible(
            "ansible-playbook",
            "-i",
            repo_root / "inventories/local/hosts.yml",
            "-e",
            f"@{tmp_path / 'vars.json'}",
            tmp_path / "play.yml",
            env={"ANSIBLE_STDOUT_CALLBACK": "json"},
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        tasks = {
            t["task"]["name"]: t["hosts"]["localhost"]
            for t in json.loads(result.stdout)["plays"][0]["tasks"]
        }
        assert tasks["Apply the namespace and the Deployment."]["changed"]
        assert not tasks["Apply them again."]["changed"]
        rolled = tasks["Apply a new image."]
        assert rolled["changed"]
        status = rolled["result"]["status"]
        assert status["readyReplicas"] == status["updatedReplicas"] == 2
        pods = json.loads(kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)["items"]
        running = [p for p in pods if p["spec"]["containers"][0]["image"] == "demo:2"]
        assert {p["spec"]["nodeName"] for p in running} <= set(kube["nodes"])
        assert len(running) == 2
        fields = json.loads(
            kubectl(
                "get",
                "deployment",
                "demo",
                "-n",
                namespace,
                "-o",
                "json",
                "--show-managed-fields",
            ).stdout
        )["metadata"]["managedFields"]
        assert any(f["manager"] == "vhvcorp.devtools" and f["operation"] == "Apply" for f in fields)
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false")
