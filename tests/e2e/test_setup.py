"""setup.yml on this machine: runs to the end, a second run changes nothing and is quick.

The service repositories come from local bare repositories (the stand-in service, one per
catalog entry) instead of GitHub, which this machine cannot reach; the workspace is a
temporary directory; the Go tools are one small tool instead of the eight defaults, whose
builds take many minutes on two cores (tests/integration/test_go_install.py and the
go_tools molecule scenario cover the mechanism); kubectl only, since helm's `go install`
takes minutes too (the kube_tools molecule scenario builds it).
"""

import importlib.util
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SERVICES = [
    s["repository"]
    for s in yaml.safe_load((REPO_ROOT / "group_vars/all/services.yml").read_text())[
        "devtools_services"
    ]
]
SMALL_GO_TOOLS = [{"package": "github.com/a8m/envsubst/cmd/envsubst", "version": "v1.4.3"}]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "tests" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def setup_vars(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("e2e")
    standin = _load("standin_fixtures")
    standin.make_service_repositories(root / "git", SERVICES)
    return {
        "workspace": str(root / "workspace"),
        "devtools_git_base_url": standin.base_url(root / "git"),
        "go_tools_list": SMALL_GO_TOOLS,
        "kube_tools_tools": ["kubectl"],
        "quick": True,
    }


def run_setup(setup_vars: dict, *extra: str, env: dict | None = None, cwd=REPO_ROOT):
    started = time.monotonic()
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), *extra, "-e", json.dumps(setup_vars)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", **(env or {})),
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr
    return json.loads(result.stdout), time.monotonic() - started


def changed_tasks(report: dict) -> list:
    return [
        task["task"]["name"]
        for play in report["plays"]
        for task in play["tasks"]
        if any(host.get("changed") for host in task["hosts"].values())
    ]


def test_setup_runs_to_the_end_and_reruns_quickly_with_no_change(setup_vars):
    first, first_seconds = run_setup(setup_vars, "setup.yml")
    assert first["stats"]["localhost"]["failures"] == 0

    second, second_seconds = run_setup(setup_vars, "setup.yml")
    assert second["stats"]["localhost"]["changed"] == 0, changed_tasks(second)
    print(f"setup.yml: first run {first_seconds:.1f} s, second run {second_seconds:.1f} s")
    assert second_seconds < 60, f"a rerun with nothing to do took {second_seconds:.1f} s"

    workspace = Path(setup_vars["workspace"])
    for name in SERVICES:
        assert (workspace / name / ".git").is_dir(), name
        assert (workspace / name / "cmd").is_dir(), name
    env_file = workspace / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    secret = next(
        line.split("=", 1)[1]
        for line in env_file.read_text().splitlines()
        if line.startswith("JWT_SECRET=")
    )
    assert len(secret) >= 64
    for report in (first, second):
        assert secret not in json.dumps(report)

    gobin = Path(os.environ.get("GOBIN") or Path.home() / "go" / "bin")
    assert subprocess.run([str(gobin / "envsubst"), "-help"], capture_output=True).returncode in (
        0,
        2,
    )

    engine = docker.from_env()
    assert engine.ping()
    tags = {tag for image in engine.images.list() for tag in image.tags}
    assert "vhvcorp-local/ferretdb:1.24" in tags
    assert "vhvcorp-local/redis:7.0" in tags


def test_setup_check_mode_changes_nothing(setup_vars):
    report, _ = run_setup(setup_vars, "setup.yml", "--check")
    stats = report["stats"]["localhost"]
    assert stats["failures"] == 0
    assert stats["changed"] == 0, changed_tasks(report)


def test_installed_collection_runs_setup_by_its_fqcn(tmp_path, setup_vars):
    """`ansible-galaxy collection install` then `ansible-playbook vhvcorp.devtools.setup`."""
    collections = tmp_path / "collections"
    # Away from the checkout: an empty ansible.cfg, so its .collections (where the checkout
    # is the collection already) neither satisfies the install nor serves the playbook.
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = {
        "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
    }

    def run(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(BIN / argv[0]), *argv[1:]],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            env=dict(os.environ, **env),
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr
        return result

    run("ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), cwd=REPO_ROOT)
    (tarball,) = tmp_path.glob("vhvcorp-devtools-*.tar.gz")
    run(
        "ansible-galaxy",
        "collection",
        "install",
        "--no-deps",
        "-p",
        str(collections),
        str(tarball),
        cwd=tmp_path,
    )
    assert (collections / "ansible_collections/vhvcorp/devtools/playbooks/setup.yml").is_file()

    # No inventory: the play targets this machine, which the first test set up already.
    report, _ = run_setup(setup_vars, "vhvcorp.devtools.setup", env=env, cwd=tmp_path)
    assert list(report["stats"]) == ["localhost"]
    assert report["stats"]["localhost"]["changed"] == 0, changed_tasks(report)
