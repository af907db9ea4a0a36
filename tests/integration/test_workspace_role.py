"""The workspace role and the workspace_env module, run for real by ansible-playbook on
this machine into a temporary workspace."""

import base64
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible_collections.vhvcorp.devtools.plugins.module_utils import _env_schema, dotenv

pytestmark = pytest.mark.integration

SECRETS = ("JWT_SECRET", "RABBITMQ_PASSWORD", "SMTP_PASSWORD", "GRAFANA_PASSWORD")

# As setup.yml runs it: `-e jwt_secret=...` reaches workspace_jwt_secret.
ROLE_PLAY = """\
- name: Lay out the workspace.
  hosts: localhost
  connection: local
  gather_facts: true
  gather_subset: [min]
  roles:
    - role: vhvcorp.devtools.workspace
      workspace_jwt_secret: "{{ jwt_secret | default('') }}"
"""

MODULE_PLAY = """\
- name: Write a .env with the module alone.
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Write the .env.
      vhvcorp.devtools.workspace_env:
        path: "{{ env_path }}"
        schema_path: "{{ schema_path }}"
        services: []
        owner: "{{ env_owner | default(omit) }}"
      register: env
    - name: Save the result for the test.
      ansible.builtin.copy:
        content: "{{ env | to_json }}"
        dest: "{{ env_path }}.result.json"
        mode: "0600"
      check_mode: false
"""


def schema_file(tmp_path: Path) -> Path:
    """The platform's schema as a YAML file on the host, for the module's schema_path."""
    path = tmp_path / "env_schema.yml"
    path.write_text(yaml.safe_dump(_env_schema.SCHEMA, sort_keys=False))
    return path


def run_play(playbook, tmp_path, play, *args):
    path = tmp_path / "play.yml"
    path.write_text(play)
    result = playbook(path, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def recap(result) -> dict:
    match = re.search(r"localhost\s+:\s+(.*)", result.stdout.split("PLAY RECAP")[-1])
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def module_result(env: Path) -> dict:
    return json.loads(Path(f"{env}.result.json").read_text())


def env_values(workspace: Path) -> dict:
    return dotenv.parse((workspace / ".env").read_text()).values()


def assert_no_secret_in(result, values: dict):
    output = result.stdout + result.stderr
    for key in SECRETS:
        assert values[key] and values[key] not in output, f"{key}'s value is in the output"


@pytest.fixture
def workspace(tmp_path):
    return tmp_path / "workspace" / "go-platform"


def test_role_twice_keeps_secrets_and_user_edits_and_changes_nothing(
    playbook, repo_root, tmp_path, workspace
):
    ws = ["-e", f"workspace_dir={workspace}"]
    first = run_play(playbook, tmp_path, ROLE_PLAY, *ws, "--diff")
    values = env_values(workspace)
    env = workspace / ".env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert env.stat().st_uid == os.getuid()
    assert len(base64.b64decode(values["JWT_SECRET"], validate=True)) == 64
    assert all(len(values[k]) >= 32 for k in SECRETS)
    assert len({values[k] for k in SECRETS}) == len(SECRETS)
    assert values["AUTH_SERVICE_URL"] == "auth-service:50051"  # from the catalog
    assert values["ENVIRONMENT"] == "development"
    assert_no_secret_in(first, values)
    assert "JWT_SECRET=********" in first.stdout  # the diff shows the key, masked
    for directory in ("backups/daily", "backups/weekly", "backups/monthly", "logs", ".vscode"):
        assert (workspace / directory).is_dir(), directory
    assert stat.S_IMODE((workspace / "backups").stat().st_mode) == 0o700

    launch = json.loads((workspace / ".vscode/launch.json").read_text())
    names = [c["name"] for c in launch["configurations"]]
    assert names == [
        "api-gateway",
        "auth-service",
        "user-service",
        "tenant-service",
        "notification-service",
        "system-config-service",
    ]
    # The main package of each (in the real platform's repositories), run where its
    # host-side .env is.
    assert [c["program"] for c in launch["configurations"]] == [
        "${workspaceFolder}/go-api-gateway/cmd",
        "${workspaceFolder}/go-auth-service/server/cmd",
        "${workspaceFolder}/go-user-service/cmd",
        "${workspaceFolder}/go-tenant-service/cmd/tenant",
        "${workspaceFolder}/go-notification-service/cmd",
        "${workspaceFolder}/go-system-config-service/cmd",
    ]
    assert {(c["cwd"], c["envFile"]) for c in launch["configurations"]} == {
        ("${workspaceFolder}/.vscode/debug", "${workspaceFolder}/.vscode/debug/.env")
    }
    debug = workspace / ".vscode/debug/.env"
    assert stat.S_IMODE(debug.stat().st_mode) == 0o600
    assert stat.S_IMODE(debug.parent.stat().st_mode) == 0o700
    host = dotenv.parse(debug.read_text()).values()
    assert host["MONGODB_URI"] == "mongodb://127.0.0.1:27017"
    assert host["AUTH_SERVICE_URL"] == "127.0.0.1:50051"
    assert (host["REDIS_HOST"], host["REDIS_PORT"]) == ("127.0.0.1", "6379")
    assert {k: host[k] for k in SECRETS} == {k: values[k] for k in SECRETS}
    tasks = json.loads((workspace / ".vscode/tasks.json").read_text())["tasks"]
    assert {"make start", "make stop", "make db-seed", "make test"} <= {t["label"] for t in tasks}
    assert {t["options"]["cwd"] for t in tasks} == {str(repo_root.resolve())}
    extensions = json.loads((workspace / ".vscode/extensions.json").read_text())
    assert "golang.go" in extensions["recommendations"]
    settings = json.loads((workspace / ".vscode/settings.json").read_text())
    assert settings["go.testEnvFile"] == "${workspaceFolder}/.vscode/debug/.env"

    unchanged = env.read_text()
    second = run_play(playbook, tmp_path, ROLE_PLAY, *ws, "-v", "--diff")
    assert recap(second)["changed"] == 0, second.stdout
    assert env.read_text() == unchanged
    assert_no_secret_in(second, values)

    # The user edits a value in the .env and customises a VS Code file.
    edited = unchanged.replace("LOG_LEVEL=debug", "LOG_LEVEL=info  # quieter")
    env.write_text(edited)
    (workspace / ".vscode/settings.json").write_text('{"editor.fontSize": 15}\n')

    third = run_play(playbook, tmp_path, ROLE_PLAY, *ws, "-v", "--diff")
    # The .env is kept; the debug .env follows it (the one change).
    assert recap(third)["changed"] == 1, third.stdout
    assert env.read_text() == edited
    again = env_values(workspace)
    assert again["LOG_LEVEL"] == "info"
    assert dotenv.parse(debug.read_text()).values()["LOG_LEVEL"] == "info"
    assert {k: again[k] for k in SECRETS} == {k: values[k] for k in SECRETS}
    assert_no_secret_in(third, values)
    assert json.loads((workspace / ".vscode/settings.json").read_text()) == {"editor.fontSize": 15}


def test_a_jwt_secret_given_on_the_command_line_replaces_the_generated_one(
    playbook, tmp_path, workspace
):
    ws = ["-e", f"workspace_dir={workspace}"]
    run_play(playbook, tmp_path, ROLE_PLAY, *ws)
    generated = env_values(workspace)
    given = "given-on-the-command-line-" + "k" * 40
    third = run_play(playbook, tmp_path, ROLE_PLAY, *ws, "-e", f"jwt_secret={given}", "-vvv")
    values = env_values(workspace)
    assert values["JWT_SECRET"] == given
    assert recap(third)["changed"] == 1
    assert given not in third.stdout + third.stderr
    assert_no_secret_in(third, generated)
    assert {k: values[k] for k in SECRETS[1:]} == {k: generated[k] for k in SECRETS[1:]}
    fourth = run_play(playbook, tmp_path, ROLE_PLAY, *ws, "-e", f"jwt_secret={given}")
    assert recap(fourth)["changed"] == 0


def test_check_mode_reports_what_it_would_write_and_writes_nothing(playbook, tmp_path, workspace):
    ws = ["-e", f"workspace_dir={workspace}"]
    result = run_play(playbook, tmp_path, ROLE_PLAY, *ws, "--check", "--diff")
    assert recap(result)["changed"] == 2  # the layout (directories, VS Code files), the .env
    assert not workspace.exists()
    assert f"+++ after: {workspace}/.vscode/settings.json" in result.stdout
    assert "+JWT_SECRET=********" in result.stdout


def test_the_module_narrows_a_wide_mode_and_reports_it(playbook, tmp_path):
    env = tmp_path / "module.env"
    args = [
        "-e",
        f"env_path={env}",
        "-e",
        f"schema_path={schema_file(tmp_path)}",
    ]
    run_play(playbook, tmp_path, MODULE_PLAY, *args)
    first = module_result(env)
    assert first["changed"] and first["generated"] == list(SECRETS)
    assert first["mode_fixed"] is False and "AUTH_SERVICE_URL" not in first["added"]
    env.chmod(0o644)
    before = env.read_text()

    run_play(playbook, tmp_path, MODULE_PLAY, *args, "--check")
    checked = module_result(env)
    assert checked["changed"] and checked["mode_fixed"]
    assert stat.S_IMODE(env.stat().st_mode) == 0o644

    run_play(playbook, tmp_path, MODULE_PLAY, *args)
    fixed = module_result(env)
    assert fixed["changed"] and fixed["mode_fixed"] and fixed["added"] == []
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert env.read_text() == before
    run_play(playbook, tmp_path, MODULE_PLAY, *args)
    rerun = module_result(env)
    assert not rerun["changed"] and not rerun["mode_fixed"]


def test_the_module_gives_the_file_to_its_owner(playbook, tmp_path):
    if os.getuid() != 0:
        pytest.fail("this test changes a file's owner, which needs root; run it as root")
    env = tmp_path / "owned.env"
    args = [
        "-e",
        f"env_path={env}",
        "-e",
        f"schema_path={schema_file(tmp_path)}",
        "-e",
        "env_owner=nobody",
    ]
    run_play(playbook, tmp_path, MODULE_PLAY, *args)
    assert env.stat().st_uid == pwd.getpwnam("nobody").pw_uid
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    os.chown(env, 0, -1)
    run_play(playbook, tmp_path, MODULE_PLAY, *args)
    assert module_result(env)["mode_fixed"] and module_result(env)["changed"]
    assert env.stat().st_uid == pwd.getpwnam("nobody").pw_uid


def test_the_module_fails_on_a_bad_line_without_showing_it(playbook, tmp_path):
    env = tmp_path / "broken.env"
    env.write_text("OK=1\nsecret-looking garbage line\n")
    path = tmp_path / "play.yml"
    path.write_text(MODULE_PLAY)
    result = playbook(
        path, "-e", f"env_path={env}", "-e", f"schema_path={schema_file(tmp_path)}", timeout=120
    )
    assert result.returncode != 0
    assert "line 2 is not KEY=value" in result.stdout
    assert "garbage" not in result.stdout + result.stderr
    assert env.read_text() == "OK=1\nsecret-looking garbage line\n"


def test_a_debugged_service_resolves_its_library_through_its_own_go_work(
    playbook, repo_root, standin_fixtures, tmp_path, workspace
):
    """A root-layout service whose go.mod replaces its library with a path written for
    another layout (the demo service and demo-shared, as the real services and go-shared):
    the role writes its go.work where the stack's build finds it, and its launch
    configuration sets GOWORK to it, so the debugger's `go build` resolves the library to
    the workspace's clone. A service requiring no library gets neither."""
    library = standin_fixtures.DEMO_LIBRARY
    files = repo_root / "roles/stack/files"
    shutil.copytree(files / "demo-service", workspace / "go-user-service")
    shutil.copytree(files / "demo-shared", workspace / "demo-shared")
    (workspace / "plain/cmd").mkdir(parents=True)
    (workspace / "plain/go.mod").write_text("module example.com/plain\n\ngo 1.24\n")
    (workspace / "plain/cmd/main.go").write_text("package main\n\nfunc main() {}\n")
    services = [
        {"name": "user-service", "repository": "go-user-service", "http_port": 8082,
         "grpc_port": 50052, "env_prefix": "USER_SERVICE", "build": {"package": "./cmd"}},
        {"name": "plain", "http_port": 8090, "env_prefix": "PLAIN", "build": {"package": "./cmd"}},
    ]  # fmt: skip
    extra = {
        "workspace_dir": str(workspace),
        "devtools_services": services,
        "devtools_libraries": [library],
    }
    run_play(playbook, tmp_path, ROLE_PLAY, "-e", json.dumps(extra))

    launch = {
        c["name"]: c
        for c in json.loads((workspace / ".vscode/launch.json").read_text())["configurations"]
    }
    gowork = "${workspaceFolder}/deploy/build/user-service/go.work"
    assert launch["user-service"]["env"] == {"GOWORK": gowork}
    assert "env" not in launch["plain"]
    assert not (workspace / "deploy/build/plain").exists()
    workfile = Path(gowork.replace("${workspaceFolder}", str(workspace)))
    assert f"replace {library['module']} => {workspace}/demo-shared" in workfile.read_text()

    def debugger_build(env: dict) -> subprocess.CompletedProcess:
        program = launch["user-service"]["program"].replace("${workspaceFolder}", str(workspace))
        return subprocess.run(
            ["/usr/local/go/bin/go", "build", "-o", str(tmp_path / "debugged"), "."],
            cwd=program,
            env=dict(os.environ, GOFLAGS="-mod=readonly", GOTOOLCHAIN="local", **env),
            capture_output=True,
            text=True,
            check=False,
        )

    # As the debugger builds it: with the configuration's GOWORK, and without (which fails
    # on the go.mod's replace path).
    built = debugger_build({"GOWORK": str(workfile)})
    assert built.returncode == 0, built.stderr
    unresolved = debugger_build({"GOWORK": "off"})
    assert "replacement directory ../../demo-shared does not exist" in unresolved.stderr

    again = run_play(playbook, tmp_path, ROLE_PLAY, "-e", json.dumps(extra))
    assert recap(again)["changed"] == 0, again.stdout
