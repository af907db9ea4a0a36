"""benchmarks/setup_rerun.py counts what a rerun costs from the json callback's report."""

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "setup_rerun", REPO / "benchmarks" / "setup_rerun.py"
)
setup_rerun = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(setup_rerun)


def task(result: dict) -> dict:
    return {"task": {"name": "t", "duration": {}}, "hosts": {"localhost": result}}


def test_a_module_that_returns_a_results_list_is_one_module_run():
    # go_build returns one entry per build under `results`: one module run, not twelve.
    result = {"action": "vhvcorp.devtools.go_build", "changed": False,
              "results": [{"name": f"s{i}", "sha1": "x"} for i in range(12)]}  # fmt: skip
    assert setup_rerun.module_runs(task(result)) == 1


def test_each_loop_item_that_ran_is_a_module_run_and_skipped_ones_are_not():
    items = [
        {"ansible_loop_var": "item", "item": "a", "changed": False},
        {"ansible_loop_var": "item", "item": "b", "changed": False},
        {"ansible_loop_var": "item", "item": "c", "skipped": True},
    ]
    assert setup_rerun.module_runs(task({"action": "ansible.builtin.file", "results": items})) == 2


def test_controller_actions_and_skipped_tasks_run_no_module():
    assert setup_rerun.module_runs(task({"action": "ansible.builtin.set_fact"})) == 0
    skipped = {"action": "ansible.builtin.command", "skipped": True}
    assert setup_rerun.module_runs(task(skipped)) == 0
    assert setup_rerun.module_runs(task({"action": "ansible.builtin.command"})) == 1


def test_tasks_and_module_runs_are_counted_per_role_in_run_order():
    def named(name, action):
        return {"task": {"name": name, "duration": {}}, "hosts": {"h": {"action": action}}}

    ran = [
        named("Gathering Facts", "gather_facts"),
        named("vhvcorp.devtools.docker : Ask dpkg", "ansible.builtin.command"),
        named("vhvcorp.devtools.docker : Decide", "ansible.builtin.set_fact"),
        named("vhvcorp.devtools.stack : Render", "vhvcorp.devtools.write_files"),
    ]
    assert list(setup_rerun.per_role(ran).items()) == [
        ("play", (1, 1)), ("docker", (2, 1)), ("stack", (1, 1))
    ]  # fmt: skip


def test_the_floor_play_has_the_runs_shape_and_no_work():
    (play,) = setup_rerun.floor_play(158, 25, ["!all", "min"])
    actions = [next(iter(task)) for task in play["tasks"]]
    assert len(actions) == 158
    assert actions.count("ansible.builtin.command") == 25
    assert actions.count("ansible.builtin.set_fact") == 133
    assert play["gather_facts"] and play["gather_subset"] == ["!all", "min"]
    assert play["hosts"] == "localhost"
