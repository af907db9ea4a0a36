"""setup.yml for a host whose home is not the controller's: the workspace, its .env and its
backups go under the home of the user the play runs as there, never the controller's.

The second host is a second user on this machine, reached by becoming it (`su`, as root):
its home differs from the controller's just as a remote laptop's would.
"""

import json
import pwd
import subprocess
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def other_user():
    name = f"dt{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], check=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)


def test_the_workspace_goes_under_the_targets_home(playbook, other_user, tmp_path):
    controller_home = tmp_path / "controller-home"
    controller_home.mkdir()
    result = playbook(
        "setup.yml",
        "--tags", "workspace",
        "-e", "quick=true",
        "-e", "ansible_become=true",
        "-e", "ansible_become_method=su",
        "-e", f"ansible_become_user={other_user.pw_name}",
        # The host's own Python: the controller's virtualenv is under root's home.
        "-e", "ansible_python_interpreter=/usr/bin/python3",
        env={"HOME": str(controller_home)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]

    workspace = Path(other_user.pw_dir) / "workspace" / "go-platform"
    env_file = workspace / ".env"
    assert env_file.is_file()
    assert env_file.stat().st_uid == other_user.pw_uid
    assert (env_file.stat().st_mode & 0o777) == 0o600
    for generation in ("daily", "weekly", "monthly"):
        backups = workspace / "backups" / generation
        assert backups.is_dir() and backups.stat().st_uid == other_user.pw_uid
    # Nothing under the controller's home.
    assert not (controller_home / "workspace").exists()


ROLES_WORKSPACE_DIRS = {
    "workspace": "workspace_dir",
    "repositories": "repositories_dir",
    "prerequisites": "prerequisites_workspace_dir",
    "stack": "stack_workspace_dir",
    "database": "database_workspace_dir",
}


@pytest.mark.parametrize(
    "extra, expected",
    [
        ({"ansible_facts": {"env": {"HOME": "/home/dev"}}}, "/home/dev/workspace/go-platform"),
        (
            {"ansible_facts": {"env": {"HOME": "/home/dev"}}, "workspace": "/srv/ws"},
            "/srv/ws",
        ),
    ],
)
def test_every_role_alone_defaults_to_the_hosts_workspace(
    playbook, repo_root, tmp_path, extra, expected
):
    # Each role's defaults, read as a role used alone reads them (no group_vars), for a host
    # whose facts say HOME=/home/dev: one answer for all, from the host's facts.
    play = tmp_path / "play.yml"
    play.write_text(
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars_files": [
                        str(repo_root / "roles" / role / "defaults" / "main.yml")
                        for role in ROLES_WORKSPACE_DIRS
                    ],
                    "tasks": [
                        {
                            "name": "Show the workspace directory of every role.",
                            "ansible.builtin.debug": {
                                "msg": "{{ [" + ", ".join(ROLES_WORKSPACE_DIRS.values()) + "] }}"
                            },
                        }
                    ],
                }
            ]
        )
    )
    result = playbook(str(play), "-e", json.dumps(extra), env={"ANSIBLE_STDOUT_CALLBACK": "json"})
    assert result.returncode == 0, result.stdout[-3000:]
    (task,) = json.loads(result.stdout)["plays"][0]["tasks"]
    assert task["hosts"]["localhost"]["msg"] == [expected] * 5
