"""Fixtures shared by every test: where the harness keeps its state, and the one runner of
Ansible's commands (ansible-playbook, ansible, ansible-galaxy) the integration and end-to-end
tests use."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def harness_state_dir() -> Path:
    """The directory the harness (tests/harness/up.py) writes its state to."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vhvcorp-devtools"
    return Path(os.environ.get("DEVTOOLS_STATE_DIR", default))


def _harness_has_node() -> bool:
    path = harness_state_dir() / "harness.json"
    return path.is_file() and "node" in json.loads(path.read_text())


def pytest_collection_modifyitems(config, items):
    """The tests marked real_node run only where the harness brought its real node up
    (`make harness-node`): elsewhere they are deselected, so never counted as passed or
    skipped; the header says so."""
    if _harness_has_node():
        return
    deselected = [item for item in items if item.get_closest_marker("real_node")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("real_node")]


def pytest_report_header(config):
    if not _harness_has_node():
        return "real_node tests: deselected (harness.json has no node: run `make harness-node`)"
    return "real_node tests: selected (the harness's real node is up)"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def harness_state() -> dict:
    """What the harness brought up. Fails (never skips) when the harness has not run."""
    path = harness_state_dir() / "harness.json"
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: the test harness has not run. "
            "Run `make harness` (or `make test`, which runs it) first."
        )
    return json.loads(path.read_text())


def run_ansible(
    program: str,
    *args,
    cwd: Path = REPO_ROOT,
    env: dict | None = None,
    timeout: float | None = 600,
) -> subprocess.CompletedProcess:
    """One of Ansible's commands from this virtualenv, as a user runs it from the checkout:
    its ansible.cfg (named, so that any cwd works; `env` may name another), no terminal, the
    output captured as text. The caller checks the return code."""
    return subprocess.run(
        [str(BIN / program), *map(str, args)],
        cwd=cwd,
        env={
            **os.environ,
            "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            **(env or {}),
        },
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def ansible():
    """run_ansible: `ansible("ansible-playbook", path, "-e", ..., env={...})`."""
    return run_ansible


@pytest.fixture(scope="session")
def playbook(ansible):
    """Runs a playbook as users type it: `ansible-playbook NAME.yml -e ...`; NAME is relative
    to the checkout (the root playbooks) or absolute (a test's own play)."""

    def run(name: str | Path, *extra: str, **options) -> subprocess.CompletedProcess:
        return ansible("ansible-playbook", REPO_ROOT / name, *extra, **options)

    return run


@pytest.fixture
def play_tasks(playbook, tmp_path):
    """Runs these tasks in a play on localhost (no facts), written to the test's tmp_path."""

    def run(tasks: list, *args: str, **options) -> subprocess.CompletedProcess:
        path = tmp_path / "play.yml"
        path.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
        return playbook(path, *args, **options)

    return run


def workspace_with_env(workspace: Path) -> dict:
    """Makes a workspace in this directory with the workspace role's .env (no VS Code
    files) and returns the .env's values."""
    workspace.mkdir(parents=True, exist_ok=True)
    setup = workspace.parent / f"{workspace.name}-workspace.yml"
    setup.write_text(
        "- hosts: localhost\n"
        "  gather_facts: true\n"
        "  gather_subset: [min]\n"
        "  roles:\n"
        "    - role: vhvcorp.devtools.workspace\n"
        f"      workspace_dir: {workspace}\n"
        "      workspace_vscode: false\n"
    )
    made = run_ansible("ansible-playbook", setup)
    assert made.returncode == 0, made.stdout[-3000:]
    text = (workspace / ".env").read_text()
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


@pytest.fixture(scope="session")
def make_workspace():
    """workspace_with_env, for tests."""
    return workspace_with_env


@pytest.fixture(scope="session")
def kube(harness_state: dict) -> dict:
    """The harness's Kubernetes control plane: server, kubeconfig, kubectl, kwok nodes."""
    info = harness_state.get("kubernetes")
    if not info:
        pytest.fail("harness.json has no kubernetes entry: rerun `make harness`.")
    return info


@pytest.fixture(scope="session")
def kubectl(kube):
    """Runs the harness's kubectl on its cluster: `kubectl("get", "nodes")`; returns the
    completed process (check=True: asserts it succeeded)."""

    def run(*args: str, check: bool = False, stdin: str | None = None):
        result = subprocess.run(
            [kube["kubectl"], f"--kubeconfig={kube['kubeconfig']}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    return run


@pytest.fixture(scope="session")
def k8s_project(playbook, make_workspace, kube, kubectl, tmp_path_factory):
    """Makes a project of its own on the harness's cluster: `run = k8s_project("k8sfoo")`
    binds a volume to each component's data claim in the namespaces of deploy-local.yml
    (the local overlay's) and deploy-dev.yml (the dev overlay's), and makes a workspace with
    the workspace role's .env; `run(*extra, playbook_name="deploy-local.yml")` runs that
    playbook for the project with extra options. Every namespace and volume made is deleted
    at the end of the session."""
    from ansible_collections.vhvcorp.devtools.plugins.module_utils._render_k8s import (
        namespace_of,
    )
    from k8s_fixtures import data_volumes, deploy_options  # tests/: pythonpath

    made = []

    def make(project: str):
        workspace = tmp_path_factory.mktemp(project) / "ws"
        make_workspace(workspace)
        for overlay in ("local", "dev"):
            namespace = namespace_of({"project": project}, overlay)
            volumes = data_volumes(namespace)
            kubectl("apply", "-f", "-", stdin=json.dumps(volumes), check=True)
            made.append((namespace, [v["metadata"]["name"] for v in volumes["items"]]))

        def run(*extra: str, playbook_name: str = "deploy-local.yml"):
            return playbook(
                playbook_name, *deploy_options(kube, workspace, project), *extra, timeout=900
            )

        return run

    yield make
    for namespace, volumes in made:
        kubectl("delete", "namespace", namespace, "--wait=false")
        kubectl("delete", "pv", *volumes, "--wait=false")


@pytest.fixture(scope="session")
def remove_compose_project():
    """Removes a compose project a test brought up (containers, network, volumes), whatever
    state it is in: `remove_compose_project("vhvcorp-devtest")`."""

    def remove(project: str) -> None:
        subprocess.run(
            ["docker", "compose", "-p", project, "down", "--volumes", "--remove-orphans"],
            capture_output=True,
            check=False,
        )

    return remove
