"""What a deploy-local.yml run on the harness's control plane needs, for the end-to-end test
(tests/e2e/test_k8s_deploy.py) and the benchmark (benchmarks/k8s_deploy.py) alike: the
playbook's options pointing at the harness's cluster and kubectl, and a volume of its own
for each component's data claim in a namespace (the harness has no storage provisioner)."""

from __future__ import annotations

# The components of the minimal profile, each a StatefulSet with one data claim.
COMPONENTS = ("mongodb", "redis", "rabbitmq")


def deploy_options(kube: dict, workspace, project: str) -> list:
    """deploy-local.yml's options: the workspace, registry images (never pulled: kwok runs
    no container), the project (its namespace) and the harness's cluster."""
    return [
        "-e", f"workspace={workspace}",
        "-e", "image_source=registry",
        "-e", f"devtools_stack_project={project}",
        "-e", f"k8s_kubeconfig={kube['kubeconfig']}",
        "-e", f"k8s_kubectl={kube['kubectl']}",
        "-e", "k8s_wait_timeout=180",
    ]  # fmt: skip


def data_volumes(namespace: str) -> dict:
    """A List of PersistentVolumes, each bound ahead to one component's claim in namespace."""
    return {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": f"{namespace}-{name}"},
                "spec": {
                    "capacity": {"storage": "1Gi"},
                    "accessModes": ["ReadWriteOnce"],
                    "hostPath": {"path": f"/tmp/{namespace}-{name}"},  # noqa: S108 - never written: no kubelet
                    "claimRef": {"namespace": namespace, "name": f"data-{name}-0"},
                },
            }
            for name in COMPONENTS
        ],
    }
