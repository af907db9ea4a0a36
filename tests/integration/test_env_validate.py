"""env_validate run by ansible-playbook on a .env written by workspace_env, with the schema
found by the action plugin (no schema option)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
CATALOG = Path(__file__).resolve().parents[2] / "group_vars" / "all" / "services.yml"


def run(tmp_path, tasks):
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    return subprocess.run(
        [ANSIBLE_PLAYBOOK, str(playbook), "-v", "-e", f"@{CATALOG}"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, ANSIBLE_NOCOLOR="1"),
    )


def write_env(env, environment, repo_root, **overrides):
    return {
        "vhvcorp.devtools.workspace_env": {
            "path": str(env),
            "services": "{{ devtools_services }}",
            "overrides": dict(ENVIRONMENT=environment, **overrides),
        }
    }


def check(env):
    return {
        "vhvcorp.devtools.env_validate": {"path": str(env), "services": "{{ devtools_services }}"},
        "register": "check",
    }


def test_fresh_env_passes_and_defaults_fail_in_production(tmp_path, repo_root):
    env = tmp_path / ".env"
    show = {"ansible.builtin.debug": {"msg": "V={{ check.valid }} U={{ check.unknown }}"}}
    result = run(tmp_path, [write_env(env, "production", repo_root), check(env), show])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "V=True U=[]" in result.stdout

    tasks = [
        write_env(
            env,
            "production",
            repo_root,
            JWT_SECRET="change-this-in-production-very-important",
            RABBITMQ_PASSWORD="guest",
        ),
        check(env),
    ]
    result = run(tmp_path, tasks)
    assert result.returncode == 2
    assert f"{env} has 2 problems (ENVIRONMENT=production): JWT_SECRET is the example secret" in (
        result.stdout
    )
    assert "RABBITMQ_PASSWORD is a well-known default password" in result.stdout
    assert "change-this-in-production-very-important" not in result.stdout + result.stderr


def test_in_development_defaults_only_warn(tmp_path, repo_root):
    env = tmp_path / ".env"
    show = {"ansible.builtin.debug": {"msg": "T={{ check.tolerated | map(attribute='key') }}"}}
    tasks = [write_env(env, "development", repo_root, GRAFANA_PASSWORD="admin"), check(env), show]
    result = run(tmp_path, tasks)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "T=['GRAFANA_PASSWORD']" in result.stdout
    assert "GRAFANA_PASSWORD is a well-known default password" in result.stdout + result.stderr
