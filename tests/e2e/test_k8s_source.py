"""deploy-dev.yml -e k8s_source=DIR on the harness's control plane: an existing kustomize
directory is built, passed through the API server's server-side dry run and applied; one
that does not build (a resource file that does not exist, as go-infrastructure's own at its
January 2026 head) or that the API server refuses is refused in one message naming the
file or object and the reason, and nothing of it is applied."""

import json

import pytest
import yaml

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "ghcr.io/example/web:1.0"}]},
        },
    },
}
SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]},
}


def kustomize_dir(root, namespace: str, resources: dict, names: list | None = None):
    """A kustomize directory: each resource a file of its own; names lists the files the
    kustomization names (default: those written)."""
    root.mkdir(parents=True)
    for name, obj in resources.items():
        (root / name).write_text(yaml.safe_dump(obj))
    kustomization = {"namespace": namespace, "resources": names or sorted(resources)}
    (root / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    return root


def failure(stdout: str) -> str:
    """The play's failure message (its `msg:` after the last fatal), on one line."""
    block = stdout[stdout.rindex("fatal: [localhost]") :].split("msg:", 1)[1]
    text = block.split("PLAY RECAP", 1)[0]
    text = " ".join(text.replace("|-", "").replace(">-", "").split())
    if text.startswith("'"):  # YAML's single-quoted scalar
        text = text[1:-1].replace("''", "'")
    return text


def namespace_exists(kubectl, name: str) -> bool:
    return kubectl("get", "namespace", name).returncode == 0


@pytest.fixture(scope="module")
def deploy_dev(k8s_project, kube):
    run = k8s_project("k8ssrc")

    def deploy(source, *extra):
        return run("-e", f"k8s_source={source}", "-e", "k8s_wait_timeout=120",
                   "-e", f"k8s_helm={kube['helm']}", *extra,
                   playbook_name="deploy-dev.yml")  # fmt: skip

    return deploy


def test_a_kustomize_directory_is_built_checked_and_deployed(deploy_dev, kubectl, tmp_path):
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "k8ssrc-good"}}
    source = kustomize_dir(
        tmp_path / "good",
        "k8ssrc-good",
        {"namespace.yaml": namespace, "deployment.yaml": DEPLOYMENT, "service.yaml": SERVICE},
    )
    try:
        result = deploy_dev(source)
        assert result.returncode == 0, result.stdout[-4000:]
        deployment = json.loads(
            kubectl("get", "deploy", "web", "-n", "k8ssrc-good", "-o", "json", check=True).stdout
        )
        assert deployment["status"]["readyReplicas"] == 1
        assert kubectl("get", "svc", "web", "-n", "k8ssrc-good").returncode == 0
    finally:
        kubectl("delete", "namespace", "k8ssrc-good", "--wait=false")


def test_a_directory_naming_a_missing_file_is_refused_and_nothing_applied(
    deploy_dev, kubectl, tmp_path
):
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "k8ssrc-broken"}}
    source = kustomize_dir(
        tmp_path / "broken",
        "k8ssrc-broken",
        {"namespace.yaml": namespace, "deployment.yaml": DEPLOYMENT},
        names=["namespace.yaml", "deployment.yaml", "hpa.yaml"],
    )
    result = deploy_dev(source)
    assert result.returncode != 0, result.stdout[-4000:]
    message = failure(result.stdout)
    assert f"{source} does not build (kubectl kustomize)" in message, message
    assert f"{source}/hpa.yaml" in message, message
    assert message.endswith("Nothing was applied."), message
    assert not namespace_exists(kubectl, "k8ssrc-broken")


def test_objects_the_api_server_refuses_are_named_and_nothing_applied(
    deploy_dev, kubectl, tmp_path
):
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "k8ssrc-invalid"}}
    bad_service = {
        **SERVICE,
        "spec": {**SERVICE["spec"], "ports": [{"name": "http", "port": 99999}]},
    }
    source = kustomize_dir(
        tmp_path / "invalid",
        "k8ssrc-invalid",
        {"namespace.yaml": namespace, "deployment.yaml": DEPLOYMENT, "service.yaml": bad_service},
    )
    result = deploy_dev(source)
    assert result.returncode != 0, result.stdout[-4000:]
    message = failure(result.stdout)
    assert message.startswith(f"The API server refuses 1 object(s) of {source}"), message
    assert "Service/web:" in message and "99999" in message, message
    assert not namespace_exists(kubectl, "k8ssrc-invalid")


def test_a_helm_chart_is_templated_checked_and_deployed_in_its_namespace(
    deploy_dev, kubectl, tmp_path
):
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(
        yaml.safe_dump({"apiVersion": "v2", "name": "web", "version": "0.1.0"})
    )
    (chart / "values.yaml").write_text(yaml.safe_dump({"replicas": 2}))
    deployment = {**DEPLOYMENT, "metadata": {"name": "{{ .Release.Name }}-web"}}
    text = yaml.safe_dump(deployment).replace("replicas: 1", "replicas: {{ .Values.replicas }}")
    (chart / "templates" / "deployment.yaml").write_text(text)
    try:
        result = deploy_dev(chart, "-e", "k8s_source_namespace=k8ssrc-helm",
                            "-e", "k8s_source_release=shop")  # fmt: skip
        assert result.returncode == 0, result.stdout[-4000:]
        deployment = json.loads(
            kubectl("get", "deploy", "shop-web", "-n", "k8ssrc-helm", "-o", "json",
                    check=True).stdout
        )  # fmt: skip
        assert deployment["status"]["readyReplicas"] == 2
    finally:
        kubectl("delete", "namespace", "k8ssrc-helm", "--wait=false")
