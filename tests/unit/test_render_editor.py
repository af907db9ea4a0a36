"""The editor configuration rendered from the catalog (module_utils/_render_editor.py)."""

from pathlib import Path

from ansible_collections.vhvcorp.devtools.plugins.filter.catalog import workspace_vscode_tasks
from ansible_collections.vhvcorp.devtools.plugins.module_utils import _render_editor as editor

REPO = Path(__file__).resolve().parents[2]


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


def test_the_filter_runs_make_in_this_collections_checkout_unless_told_otherwise():
    # The workspace role passes "" unless workspace_devtools_dir names a checkout.
    targets = [{"target": "start", "group": "build"}]
    (here,) = workspace_vscode_tasks(targets, "")["tasks"]
    assert here["options"]["cwd"] == str(REPO.resolve())
    (there,) = workspace_vscode_tasks(targets, "/src/devtools")["tasks"]
    assert there["options"]["cwd"] == "/src/devtools"
