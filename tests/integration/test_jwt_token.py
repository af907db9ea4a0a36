"""jwt_token run by ansible-playbook -v on a real .env: the token verifies, the secret never
shows."""

from ansible_collections.vhvcorp.devtools.plugins.module_utils import jwt_token as jwt

SECRET = "Zm9vYmFyYmF6cXV4" * 5 + "s3cr3t=="


def test_token_from_the_env_file_verifies_and_the_secret_is_never_printed(play_tasks, tmp_path):
    env = tmp_path / ".env"
    env.write_text(f"JWT_SECRET='{SECRET}'\nJWT_ISSUER=vhv-test\nJWT_ALGORITHM=HS256\n")
    out_file = tmp_path / "token.txt"
    tasks = [
        {
            "vhvcorp.devtools.jwt_token": {
                "env_file": str(env),
                "user_id": "user-123",
                "tenant_id": "tenant-demo",
                "roles": ["admin", "user"],
                "email": "admin@demo.example.com",
                "expiry": "1h30m",
            },
            "register": "jwt",
        },
        {"ansible.builtin.copy": {"content": "{{ jwt.token }}", "dest": str(out_file)}},
    ]
    result = play_tasks(tasks, "-vvv")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert SECRET not in out and SECRET[:20] not in out
    token = out_file.read_text()
    claims = jwt.decode(token, SECRET)
    assert claims["iss"] == "vhv-test" and claims["roles"] == ["admin", "user"]
    assert claims["exp"] - claims["iat"] == 5400
    assert "secret_source: env_file:JWT_SECRET" in out or '"env_file:JWT_SECRET"' in out


def test_missing_secret_and_wrong_algorithm_fail_clearly(play_tasks, tmp_path):
    env = tmp_path / ".env"
    env.write_text("JWT_ISSUER=x\n")
    task = {"vhvcorp.devtools.jwt_token": {"env_file": str(env), "user_id": "u", "tenant_id": "t"}}
    result = play_tasks([task], "-vvv")
    assert result.returncode == 2
    assert f"JWT_SECRET in {env} is missing; run the workspace role" in result.stdout
    env.write_text(f"JWT_SECRET={SECRET}\nJWT_ALGORITHM=RS256\n")
    result = play_tasks([task], "-vvv")
    assert result.returncode == 2 and "JWT_ALGORITHM in" in result.stdout
    assert "'RS256'; this module signs HS256 only" in result.stdout
    assert SECRET not in result.stdout + result.stderr
