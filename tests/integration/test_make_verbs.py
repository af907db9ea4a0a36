"""go-devtools' verbs as make targets, through their playbooks: `make logs-<name>` (logs.yml
for one container of the stack, by its catalog name) and `make stop-keep-data` (stop.yml,
the volumes kept whatever VOLUMES says). No stack is brought up: a project of this test's
own, which runs nothing, is stopped and asked for its logs.
"""

import json
import re

import pytest

pytestmark = pytest.mark.integration

PROJECT = "vhvcorp-verbstest"


@pytest.fixture(scope="module")
def workspace_args(make_workspace, tmp_path_factory) -> dict:
    """A workspace with the workspace role's .env, and ARGS= naming it and the project."""
    root = tmp_path_factory.mktemp("verbs")
    workspace = root / "ws"
    make_workspace(workspace)
    extra = root / "vars.json"
    extra.write_text(json.dumps({"workspace": str(workspace), "devtools_stack_project": PROJECT}))
    return {"WORKSPACE": str(workspace), "ARGS": f"-e @{extra}"}


def test_logs_of_a_catalog_name_runs_logs_yml_for_that_container(make, workspace_args):
    run = make("logs-auth-service", **workspace_args)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    # logs.yml ran for that one container (its assert passed: a container of this stack).
    assert re.search(
        r"Check that the service named for logs is one of the stack's\.\] \*+\nok: \[localhost\]",
        run.stdout,
    ), run.stdout[-3000:]
    assert "Read the last lines of the logs, per container: 100" in run.stdout


def test_logs_of_a_name_not_in_the_catalog_names_the_stacks_containers(make, workspace_args):
    run = make("logs-nosuch", **workspace_args)
    assert run.returncode != 0
    said = " ".join(run.stdout.split())
    assert (
        "service=nosuch is not a container of this stack; choose one of mongodb, redis, "
        "rabbitmq, api-gateway" in said
    )


def test_stop_keep_data_keeps_the_volumes_even_when_asked_to_remove_them(make, workspace_args):
    run = make("stop-keep-data", VOLUMES="yes", **workspace_args)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "-e volumes=false" in run.stdout.splitlines()[0]
    assert "(volumes kept)" in run.stdout
    assert " and volumes." not in run.stdout
