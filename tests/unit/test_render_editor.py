"""The editor configuration rendered from the catalog (module_utils/_render_editor.py)."""

from ansible_collections.vhvcorp.devtools.plugins.module_utils import _render_editor as editor


def test_launch_has_one_go_configuration_per_service_and_one_for_all():
    launch = editor.vscode_launch(
        [{"name": "auth-service", "repository": "go-auth-service"}, {"name": "billing"}]
    )
    auth, billing = launch["configurations"]
    assert auth["program"] == auth["cwd"] == "${workspaceFolder}/go-auth-service"
    assert billing["program"] == "${workspaceFolder}/billing"
    assert {auth["type"], auth["envFile"]} == {"go", "${workspaceFolder}/.env"}
    assert launch["compounds"] == [
        {"name": "All services", "configurations": ["auth-service", "billing"], "stopAll": True}
    ]


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
