"""validate-env.yml and generate-jwt.yml as users type them, on the .env that setup.yml's
workspace step writes into a temporary workspace."""

from pathlib import Path

import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils import dotenv
from ansible_collections.vhvcorp.devtools.plugins.module_utils import jwt_token as jwt

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def workspace_env(tmp_path_factory, playbook) -> Path:
    """The .env of a workspace laid out by `setup.yml --tags workspace`."""
    workspace = tmp_path_factory.mktemp("workspace")
    laid = playbook(
        "setup.yml", "--tags", "workspace", "-e", f"workspace={workspace}", "-e", "quick=true"
    )
    assert laid.returncode == 0, laid.stdout[-3000:]
    return workspace / ".env"


def env_values(env: Path) -> dict:
    return dotenv.parse(env.read_text()).values()


def test_validate_env_passes_the_fresh_env_and_lists_every_problem(
    playbook, workspace_env, tmp_path
):
    fresh = playbook("validate-env.yml", "-e", f"env_file={workspace_env}")
    assert fresh.returncode == 0, fresh.stdout[-3000:]
    assert f"{workspace_env}: " in fresh.stdout and "(ENVIRONMENT=development)" in fresh.stdout

    values = env_values(workspace_env)
    broken = tmp_path / ".env"
    lines = [
        line
        for line in workspace_env.read_text().splitlines()
        if not line.startswith(("MONGODB_URI=", "REDIS_POOL_SIZE="))
    ]
    broken.write_text("\n".join([*lines, "REDIS_POOL_SIZE=ten", ""]))
    result = playbook("validate-env.yml", "-e", f"env_file={broken}")
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert f"{broken} has 2 problems" in out
    assert "MONGODB_URI missing" in out and "REDIS_POOL_SIZE" in out
    assert values["JWT_SECRET"] not in out


def test_generate_jwt_prints_a_token_signed_with_the_workspace_secret(playbook, workspace_env):
    secret = env_values(workspace_env)["JWT_SECRET"]
    result = playbook(
        "generate-jwt.yml",
        "-e",
        f"env_file={workspace_env}",
        "-e",
        "user_id=user-42",
        "-e",
        "tenant_id=tenant-acme",
        "-e",
        "roles=admin,auditor",
        "-e",
        "expiry=1h",
    )
    assert result.returncode == 0, result.stdout[-3000:]
    out = result.stdout + result.stderr
    assert secret not in out
    token = result.stdout.strip().splitlines()[-1]
    claims = jwt.decode(token, secret)
    assert claims["user_id"] == "user-42" and claims["tenant_id"] == "tenant-acme"
    assert claims["roles"] == ["admin", "auditor"]
    assert claims["exp"] - claims["iat"] == 3600
