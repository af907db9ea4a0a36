"""The harness's real node (tests/harness/node.py: a kubelet over containerd, `make
harness-node`): a pod of a local image (FerretDB) really running and Ready there, and
port-forward.yml forwarding the catalog's MongoDB Service to it on 127.0.0.1, so that
db-seed.yml, db-backup.yml and verify-backup.yml run against the cluster's database.

Marked real_node: collected only when harness.json has the node (tests/conftest.py says so
in the header when it has not); never skipped and counted."""

import json
import subprocess
import sys

import pymongo
import pytest

pytestmark = pytest.mark.real_node

PROJECT = "k8snode"
OFFSET = 11000  # the catalog's MongoDB port 27017 on 127.0.0.1:38017
LABELS = {"app.kubernetes.io/name": "mongodb", "test": PROJECT}


def ferretdb_objects(node: dict, image: str) -> dict:
    """A FerretDB pod on the real node (it tolerates the node's taint) and the catalog's
    Service name for MongoDB selecting it."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "mongodb-0", "namespace": PROJECT, "labels": LABELS},
        "spec": {
            "nodeSelector": node["labels"],
            "tolerations": [{**node["taint"], "operator": "Exists"}],
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 999, "fsGroup": 999},
            "containers": [
                {
                    "name": "mongodb",
                    "image": image,
                    "imagePullPolicy": "Never",  # imported into the node's containerd
                    "ports": [{"name": "mongodb", "containerPort": 27017}],
                    "readinessProbe": {
                        "exec": {
                            "command": ["ferretdb", "-healthcheck", "-listen", "127.0.0.1:27017"]
                        },
                        "periodSeconds": 2,
                    },
                    "volumeMounts": [{"name": "data", "mountPath": "/var/lib/ferretdb"}],
                }
            ],
            "volumes": [{"name": "data", "emptyDir": {}}],
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "mongodb", "namespace": PROJECT},
        "spec": {"selector": LABELS, "ports": [{"name": "mongodb", "port": 27017}]},
    }
    return {"apiVersion": "v1", "kind": "List", "items": [pod, service]}


@pytest.fixture(scope="module")
def node(harness_state):
    return harness_state["node"]


def test_a_second_node_run_reuses_every_part(repo_root):
    result = subprocess.run(
        [sys.executable, "tests/harness/node.py"],
        cwd=repo_root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    # the CNI plugins, the pause image, containerd and the kubelet with the images imported
    assert len(lines) == 3, lines
    assert all(" reused " in line for line in lines), lines


@pytest.fixture(scope="module")
def forward(k8s_project, kubectl, node):
    """FerretDB Ready on the real node, and port-forward.yml's options for PROJECT with only
    MongoDB in the cluster (no service, Redis and RabbitMQ external)."""
    run = k8s_project(PROJECT)
    kubectl("create", "namespace", PROJECT, check=True)
    image = next(i for i in node["images"] if "/ferretdb:" in i)
    objects = json.dumps(ferretdb_objects(node, image))
    kubectl("apply", "-f", "-", stdin=objects, check=True)
    external = {"redis": "redis://127.0.0.1:1/0", "rabbitmq": "amqp://127.0.0.1:1/"}
    options = ("-e", json.dumps({"devtools_services": [], "k8s_external": external,
                                 "port_forward_offset": OFFSET}))  # fmt: skip

    def playbook(*extra: str):
        return run(*options, *extra, playbook_name="port-forward.yml")

    yield playbook
    playbook("-e", "state=stopped")


def test_a_pod_of_a_local_image_runs_and_is_ready_on_the_real_node(forward, kubectl, node):
    waited = kubectl(
        "wait", "-n", PROJECT, "pod/mongodb-0", "--for=condition=Ready", "--timeout=120s"
    )
    pod = json.loads(kubectl("get", "-n", PROJECT, "pod/mongodb-0", "-o", "json").stdout)
    assert waited.returncode == 0, (waited.stderr, pod.get("status"))
    assert pod["spec"]["nodeName"] == node["name"]
    status = pod["status"]["containerStatuses"][0]
    assert status["ready"] and status["containerID"].startswith("containerd://")
    assert "running" in status["state"], status
    # The kubelet answers the API server's calls (logs go through it, as port-forward does).
    logs = kubectl("logs", "-n", PROJECT, "mongodb-0", check=True).stdout
    assert "ferretdb listening" in logs, logs[-2000:]


def test_db_playbooks_run_through_port_forward_to_the_pod(forward, playbook, tmp_path):
    started = forward()
    assert started.returncode == 0, started.stdout[-4000:]
    assert "mongodb:27017->38017" in " ".join(started.stdout.split()), started.stdout[-3000:]
    uri = f"mongodb://127.0.0.1:{27017 + OFFSET}"
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=20000)
    assert client.admin.command("ping")["ok"] == 1
    target = ("-e", f"mongodb_uri={uri}", "-e", "mongodb_database=k8snode")
    seeded = playbook("db-seed.yml", *target)
    assert seeded.returncode == 0, seeded.stdout[-3000:]
    users = client["k8snode"].users.count_documents({})
    assert users > 0
    backups = tmp_path / "backups"
    made = playbook("db-backup.yml", *target, "-e", f"backup_dir={backups}")
    assert made.returncode == 0, made.stdout[-3000:]
    verified = playbook("verify-backup.yml", "-e", f"backup_dir={backups}")
    assert verified.returncode == 0, verified.stdout[-3000:]
    assert f"k8snode.users: {users} documents" in verified.stdout
    again = forward()
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-3000:]
    client.close()
