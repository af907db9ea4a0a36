"""deploy-local.yml fails, naming the pod and its reason, when a pod never becomes Ready and
when a pod fails right after it was Ready; the rest of the stack rolls out all the same.

Both failures are kwok stages of ours (tests/harness/kwok_stages), which act only on pods
with their annotation; deploy-local.yml puts it on one service's pods with
k8s_pod_annotations. Each case deploys a project (namespace) of its own."""

import json
import re
from pathlib import Path

import pytest
import yaml
from k8s_fixtures import COMPONENTS  # tests/: pythonpath

CATALOG = Path(__file__).resolve().parents[2] / "group_vars" / "all" / "services.yml"
SERVICES = [s["name"] for s in yaml.safe_load(CATALOG.read_text())["devtools_services"]]
BROKEN = "auth-service"


def annotate(annotations: dict) -> str:
    return json.dumps({"k8s_pod_annotations": {BROKEN: annotations}})


def rows_of(stdout: str) -> list:
    """The failure table's rows of the broken service's pods: (pod, container, reason); its
    columns are two spaces or more apart."""
    return [
        tuple(re.split(r"\s{2,}", line.strip())[:3])
        for line in stdout.splitlines()
        if line.strip().startswith(f"{BROKEN}-")
    ]


def assert_the_others_are_ready(kubectl, namespace: str) -> None:
    workloads = json.loads(
        kubectl("get", "deploy,statefulset", "-n", namespace, "-o", "json", check=True).stdout
    )
    ready = {w["metadata"]["name"]: w["status"].get("readyReplicas", 0) for w in workloads["items"]}
    assert ready == {
        **{name: 1 for name in SERVICES if name != BROKEN},
        **dict.fromkeys(COMPONENTS, 1),
        BROKEN: 0,
    }


@pytest.mark.parametrize(
    ("project", "options", "message", "reason"),
    [
        pytest.param(
            "k8shold",
            ["-e", annotate({"kwok.devtools.vhvcorp/hold-not-ready": "ImagePullBackOff"}),
             "-e", "k8s_wait_timeout=40"],
            "failed: Failed to gather information about Deployment(s) even after waiting",
            "ImagePullBackOff",
            id="held-out-of-ready",
        ),
        # Ready for minReadySeconds (20 s): the rollout's wait returns; the pod fails 30 s
        # after it was Ready, before the check that follows the wait (20 s after it).
        pytest.param(
            "k8scrash",
            ["-e", annotate({"kwok.devtools.vhvcorp/fail-after-ready": "30s"}),
             "-e", "k8s_min_ready_seconds=20"],
            "failed: 1 container(s) not ready after the rollout.",
            "CrashLoopBackOff",
            id="failing-after-ready",
        ),
    ],
)  # fmt: skip
def test_a_pod_that_is_not_ready_fails_the_deploy_with_its_reason(
    k8s_project, kubectl, project, options, message, reason
):
    result = k8s_project(project)(*options)
    assert result.returncode != 0, result.stdout[-4000:]
    assert f"The rollout to {project} {message}" in result.stdout, result.stdout[-4000:]
    rows = rows_of(result.stdout)
    assert rows, result.stdout[-4000:]
    assert {(container, why) for _, container, why in rows} == {(BROKEN, reason)}, rows
    assert_the_others_are_ready(kubectl, project)
