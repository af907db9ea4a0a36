"""The editor configuration rendered from the catalog (module_utils/_render_editor.py)."""

from pathlib import Path

import yaml
from ansible_collections.vhvcorp.devtools.plugins.filter.catalog import workspace_vscode_tasks
from ansible_collections.vhvcorp.devtools.plugins.module_utils import _render_editor as editor
from ansible_collections.vhvcorp.devtools.plugins.module_utils import dotenv

REPO = Path(__file__).resolve().parents[2]
GROUP_VARS = REPO / "group_vars" / "all"


def test_launch_has_one_go_configuration_per_service_and_one_for_all():
    launch = editor.vscode_launch(
        [
            {
                "name": "auth-service",
                "repository": "go-auth-service",
                "build": {"package": "./cmd/server", "binary": "server"},
            },
            {"name": "billing"},
        ]
    )
    auth, billing = launch["configurations"]
    # The main package of the catalog, not the repository's root.
    assert auth["program"] == "${workspaceFolder}/go-auth-service/cmd/server"
    assert billing["program"] == "${workspaceFolder}/billing"
    # Run where its .env is (go-shared reads .env in the working directory), the host one.
    assert auth["cwd"] == "${workspaceFolder}/.vscode/debug"
    assert auth["envFile"] == "${workspaceFolder}/.vscode/debug/.env"
    assert auth["type"] == "go"
    assert launch["compounds"] == [
        {"name": "All services", "configurations": ["auth-service", "billing"], "stopAll": True}
    ]


def test_launch_program_follows_the_catalogs_package():
    (tenant,) = editor.vscode_launch(
        [
            {
                "name": "tenant-service",
                "repository": "go-tenant-service",
                "build": {"package": "cmd/tenant/"},
            }
        ]  # fmt: skip
    )["configurations"]
    assert tenant["program"] == "${workspaceFolder}/go-tenant-service/cmd/tenant"


def test_launch_program_is_in_the_catalogs_module_dir():
    """The default catalog: auth's Go module is in server/ of its clone, its main in ./cmd."""
    services = yaml.safe_load((GROUP_VARS / "services.yml").read_text())["devtools_services"]
    programs = {c["name"]: c["program"] for c in editor.vscode_launch(services)["configurations"]}
    assert programs["auth-service"] == "${workspaceFolder}/go-auth-service/server/cmd"
    assert programs["user-service"] == "${workspaceFolder}/go-user-service/cmd"


def test_tasks_run_make_in_the_devtools_checkout():
    tasks = editor.vscode_tasks([{"target": "db-seed", "group": "none"}], "/src/devtools")
    assert tasks["tasks"] == [
        {
            "label": "make db-seed",
            "type": "shell",
            "command": "make",
            "args": ["db-seed"],
            "options": {"cwd": "/src/devtools"},
            "group": "none",
            "problemMatcher": [],
        }
    ]


def test_the_filter_runs_make_in_this_collections_checkout_unless_told_otherwise():
    # The workspace role passes "" unless workspace_devtools_dir names a checkout.
    targets = [{"target": "start", "group": "build"}]
    (here,) = workspace_vscode_tasks(targets, "")["tasks"]
    assert here["options"]["cwd"] == str(REPO.resolve())
    (there,) = workspace_vscode_tasks(targets, "/src/devtools")["tasks"]
    assert there["options"]["cwd"] == "/src/devtools"


def catalog_env(offset=0, address="127.0.0.1"):
    """The workspace .env as the module writes it first, and the catalog's host addresses."""
    stack = yaml.safe_load((GROUP_VARS / "stack.yml").read_text())
    services = yaml.safe_load((GROUP_VARS / "services.yml").read_text())["devtools_services"]
    schema = dotenv.build_schema(dotenv._env_schema.SCHEMA, services)
    text = dotenv.render(dotenv.parse(""), schema, {}).text
    hosts = editor.host_addresses(services, stack["devtools_stack_components"], offset, address)
    return text, hosts


def test_host_env_reaches_the_stack_at_its_published_addresses():
    text, hosts = catalog_env()
    host = dotenv.parse(editor.host_env(text, hosts)).values()
    container = dotenv.parse(text).values()
    assert container["MONGODB_URI"] == "mongodb://mongodb:27017"  # the stack's, unchanged
    assert host["MONGODB_URI"] == "mongodb://127.0.0.1:27017"
    assert (host["REDIS_HOST"], host["REDIS_PORT"]) == ("127.0.0.1", "6379")
    assert host["REDIS_URL"] == "redis://127.0.0.1:6379/0"
    # References stay references; the password is written once, in RABBITMQ_PASSWORD.
    assert (
        host["RABBITMQ_URL"] == "amqp://${RABBITMQ_USERNAME}:${RABBITMQ_PASSWORD}@127.0.0.1:5672/"
    )
    assert host["AUTH_SERVICE_URL"] == "127.0.0.1:50051"
    assert host["API_GATEWAY_URL"] == "http://127.0.0.1:8080"
    assert host["JAEGER_AGENT_HOST"] == "127.0.0.1"
    # Everything else, secrets included, is the workspace's.
    same = {k for k in container if host[k] == container[k]}
    assert {"JWT_SECRET", "RABBITMQ_PASSWORD", "SMTP_HOST", "AUTH_SERVICE_PORT"} <= same
    assert set(host) == set(container)
    assert not [
        v for v in host.values() if "//mongodb:" in v or "//redis:" in v or "@rabbitmq" in v
    ]


def test_host_env_follows_the_port_offset_and_publish_address():
    text, hosts = catalog_env(offset=10000, address="0.0.0.0")  # noqa: S104
    host = dotenv.parse(editor.host_env(text, hosts)).values()
    assert host["MONGODB_URI"] == "mongodb://127.0.0.1:37017"
    assert (host["REDIS_HOST"], host["REDIS_PORT"]) == ("127.0.0.1", "16379")
    assert host["AUTH_SERVICE_URL"] == "127.0.0.1:60051"
    assert host["JAEGER_AGENT_PORT"] == "16831"


def test_host_env_keeps_the_users_values_and_other_hosts():
    text = (
        "# my comment\n"
        "MONGODB_URI='mongodb://db.example.internal:27017'\n"
        "REDIS_URL=redis://redis:6379/2\n"
        "MY_OWN=mongodb\n"
    )
    out = editor.host_env(text, {"redis": {"address": "127.0.0.1", "ports": {6379: 6380}}})
    assert out.splitlines()[len(editor.HOST_HEADER) + 1 :] == [
        "# my comment",
        "MONGODB_URI='mongodb://db.example.internal:27017'",
        "REDIS_URL=redis://127.0.0.1:6380/2",
        "MY_OWN=mongodb",
    ]


def test_launch_sets_gowork_only_for_the_services_with_a_go_work():
    """Those go_build wrote a go.work for (workfiles_only: a library replaced) build with it,
    where the stack's build has it; the others build in module mode, as the stack's."""
    services = yaml.safe_load((GROUP_VARS / "services.yml").read_text())["devtools_services"]
    launch = editor.vscode_launch(services, ["auth-service", "user-service"])
    env = {c["name"]: c.get("env") for c in launch["configurations"]}
    assert env["auth-service"] == {"GOWORK": "${workspaceFolder}/deploy/build/auth-service/go.work"}
    assert env["user-service"] == {"GOWORK": "${workspaceFolder}/deploy/build/user-service/go.work"}
    assert env["notification-service"] is None and env["api-gateway"] is None
