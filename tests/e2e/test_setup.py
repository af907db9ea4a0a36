"""setup.yml on this machine: runs to the end, and a second run changes nothing."""

import json
import os
import subprocess
import sys
from pathlib import Path

import docker

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_setup(*extra: str) -> dict:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "setup.yml", *extra],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"),
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    return json.loads(result.stdout)


def test_setup_runs_to_the_end_and_reruns_with_no_change():
    first = run_setup()
    assert first["stats"]["localhost"]["failures"] == 0

    second = run_setup()
    stats = second["stats"]["localhost"]
    assert stats["changed"] == 0, [
        task["task"]["name"]
        for play in second["plays"]
        for task in play["tasks"]
        if task["hosts"].get("localhost", {}).get("changed")
    ]

    engine = docker.from_env()
    assert engine.ping()
    tags = {tag for image in engine.images.list() for tag in image.tags}
    assert "vhvcorp-local/ferretdb:1.24" in tags
    assert "vhvcorp-local/redis:7.0" in tags


def test_setup_check_mode_changes_nothing():
    stats = run_setup("--check")["stats"]["localhost"]
    assert stats["failures"] == 0
    assert stats["changed"] == 0


def test_installed_collection_runs_setup_by_its_fqcn(tmp_path):
    """`ansible-galaxy collection install` then `ansible-playbook vhvcorp.devtools.setup`."""
    bin_dir = Path(sys.executable).parent
    collections = tmp_path / "collections"
    # Away from the checkout: an empty ansible.cfg, so its .collections (where the checkout
    # is the collection already) neither satisfies the install nor serves the playbook.
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
    )

    def run(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(bin_dir / argv[0]), *argv[1:]],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            env=env,
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

    # No inventory: the play targets this machine.
    stats = json.loads(run("ansible-playbook", "vhvcorp.devtools.setup", cwd=tmp_path).stdout)[
        "stats"
    ]
    assert list(stats) == ["localhost"]
    assert stats["localhost"]["changed"] == 0
