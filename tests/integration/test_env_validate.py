"""env_validate run by ansible-playbook on a .env written by workspace_env, with the schema
found by the action plugin (no schema option)."""

from pathlib import Path

CATALOG = Path(__file__).resolve().parents[2] / "group_vars" / "all" / "services.yml"
# Verbose (the warnings), with the catalog's variables.
OPTIONS = ("-v", "-e", f"@{CATALOG}")


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


def test_fresh_env_passes_and_defaults_fail_in_production(play_tasks, tmp_path, repo_root):
    env = tmp_path / ".env"
    show = {"ansible.builtin.debug": {"msg": "V={{ check.valid }} U={{ check.unknown }}"}}
    result = play_tasks([write_env(env, "production", repo_root), check(env), show], *OPTIONS)
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
    result = play_tasks(tasks, *OPTIONS)
    assert result.returncode == 2
    assert f"{env} has 2 problems (ENVIRONMENT=production): JWT_SECRET is the example secret" in (
        result.stdout
    )
    assert "RABBITMQ_PASSWORD is a well-known default password" in result.stdout
    assert "change-this-in-production-very-important" not in result.stdout + result.stderr


def test_in_development_defaults_only_warn(play_tasks, tmp_path, repo_root):
    env = tmp_path / ".env"
    show = {"ansible.builtin.debug": {"msg": "T={{ check.tolerated | map(attribute='key') }}"}}
    tasks = [write_env(env, "development", repo_root, GRAFANA_PASSWORD="admin"), check(env), show]
    result = play_tasks(tasks, *OPTIONS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "T=['GRAFANA_PASSWORD']" in result.stdout
    assert "GRAFANA_PASSWORD is a well-known default password" in result.stdout + result.stderr
