"""setup.yml on a machine that reaches none of the platform's repositories: the demo.

A fresh machine offline, a CI runner, someone evaluating the tool: not one service
repository can be cloned (the base URL is an empty directory) and none is in the workspace.
With devtools_service_source at its default (auto) the demo service stands in for all six,
so the first setup.yml still ends with a healthy stack: every container healthy, every
endpoint answering, "demo" as each service's state in the table, a loud warning, and exit 0.
The minimal profile and no seed keep it short.

Runs after test_setup_degraded.py (file order), which leaves a clean machine; ends with
clean.yml. Uses the fixed ports of the stack: `flock /tmp/devtools-stack.lock make test-e2e`.
"""

import importlib.util
from pathlib import Path

import pytest


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# test_setup_degraded.py's table and containers, and what it loads: the stand-in fixtures
# and test_setup.py's helpers and playbook runner.
_degraded = _load("e2e_setup_degraded", Path(__file__).with_name("test_setup_degraded.py"))
standin, e2e = _degraded.standin, _degraded.e2e
run_setup = e2e.run_setup  # a fixture: pytest finds it in this module
WARN_TASK = "Say loudly that the demo service stands in for the platform's services."


@pytest.fixture(scope="module")
def setup_vars(tmp_path_factory) -> dict:
    """setup.yml's vars with a base URL where no repository is (the library's aside)."""
    root = tmp_path_factory.mktemp("demo")
    offline = root / "offline"
    offline.mkdir()
    return dict(
        standin.setup_vars(root, []),
        devtools_git_base_url=standin.base_url(offline),
        skip_seed=True,
    )


def test_setup_with_no_reachable_repository_brings_the_demo_up_healthy(run_setup, setup_vars):
    report, seconds = run_setup(setup_vars, "setup.yml")
    print(f"setup.yml with no reachable repository (the demo): {seconds:.1f} s")
    rows = _degraded.table(report)
    print("\n".join(e2e.task_result(report, _degraded.TABLE_TASK)[1]["msg"].splitlines()))
    reason = ["the demo service stands in: no service repository could be cloned"]
    assert rows == {name: ("demo", reason) for name in _degraded.REPOSITORY}, rows

    _, warned = e2e.task_result(report, WARN_TASK)
    assert any(
        w.startswith("THE DEMO SERVICE STANDS IN FOR EVERY SERVICE") and "not one service" in w
        for w in warned["warnings"]
    ), warned

    _, health = e2e.task_result(report, e2e.HEALTH_TASK)
    assert health["healthy"] and all(e["healthy"] for e in health["endpoints"]), health
    containers = _degraded.project_containers()
    assert set(containers) == {"mongodb", "redis", "rabbitmq", *_degraded.REPOSITORY}, containers
    assert {state for _, _, state, _ in containers.values()} == {"healthy"}, containers
    # Built from the collection's demo service: nothing of it is copied into the workspace.
    workspace = Path(setup_vars["workspace"])
    assert not [p for p in workspace.iterdir() if (p / "go.mod").is_file()]


def test_clean_leaves_no_container_network_or_volume(run_setup, setup_vars):
    run_setup(setup_vars, "clean.yml")
    assert e2e.project_leftovers() == {"containers": [], "networks": [], "volumes": []}
