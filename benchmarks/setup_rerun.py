#!/usr/bin/env python3
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How long a rerun of setup.yml with nothing to do takes (the target: under 10 s).

Runs setup.yml once to converge the machine (skip it with --converged when the last run
left it set up), then --runs more times (3), each timed; every timed run must change
nothing (changed=0), or the benchmark fails and names the tasks that changed. It prints
each run's seconds, their median, the load average, and the slowest tasks of the median
run with how many tasks ran and how many of them ran a module on the host (each costs
about 0.4 s on a small machine: Python starts and imports Ansible's module_utils).

    python benchmarks/setup_rerun.py                 # your machine, your config.yml
    python benchmarks/setup_rerun.py -- -e workspace=~/src/platform --skip-tags kube
    python benchmarks/setup_rerun.py --standin       # the end-to-end test's vars (below)

Your machine: setup.yml runs as `make setup` would, with `-e quick=true` (no questions)
and whatever follows `--`. --standin: the vars of tests/e2e (stand-in services cloned from
local bare repositories, local images, one small Go tool, kubectl only) in --workdir, which
is kept between benchmarks so only the first converges from nothing; the stack it starts is
removed at the end (clean.yml) unless --keep-stack. The stack uses fixed ports: on a shared
machine run it under `flock /tmp/devtools-stack.lock`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Actions that run on the controller only (no module on the host); every other action
# that ran counts as a module run.
CONTROLLER_ACTIONS = {
    "ansible.builtin." + name
    for name in (
        "assert",
        "debug",
        "fail",
        "set_fact",
        "include_vars",
        "include_tasks",
        "include_role",
        "meta",
        "set_stats",
        "validate_argument_spec",
    )
} | {"vhvcorp.devtools.ask", "vhvcorp.devtools.warn"}


def standin_vars(workdir: Path) -> dict:
    """The end-to-end test's vars (tests/standin_fixtures.py), with their fixtures in workdir."""
    spec = importlib.util.spec_from_file_location(
        "standin_fixtures", REPO / "tests" / "standin_fixtures.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.setup_vars(workdir)


def cpu_seconds() -> float:
    """User and system CPU seconds of this process's finished children (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main_process_cpu(process: subprocess.Popen, until: threading.Event, seen: list) -> None:
    """Sample the CPU seconds of ansible-playbook's own process (not its workers) every
    50 ms into seen[0] until it ends: the last sample is within 50 ms of its total. Its
    strategy loop is serial, so this is what no fork count or core count can spread."""
    ticks = os.sysconf("SC_CLK_TCK")
    while not until.wait(0.05):
        try:
            # utime and stime are fields 14 and 15; the name (field 2) may hold spaces.
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return
        seen[0] = (int(fields[11]) + int(fields[12])) / ticks


def playbook(
    name: str, args: list[str], checkout: Path = REPO, env: dict | None = None
) -> tuple[dict, float, float, float]:
    """Run one playbook of checkout with the JSON callback and `env` on top of this process's
    environment: (its report, wall seconds, CPU seconds of ansible-playbook and the processes
    it started on this machine, CPU seconds of ansible-playbook's own process; Docker's own
    work is not counted). The CPU seconds vary less with the machine's load than the wall
    seconds do."""
    started, cpu = time.monotonic(), cpu_seconds()
    process = subprocess.Popen(
        [str(BIN / "ansible-playbook"), name, *args],
        cwd=checkout,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        env=dict(
            os.environ,
            ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
            ANSIBLE_CONFIG=str(checkout / "ansible.cfg"),
            **(env or {}),
        ),
    )
    ended, main_cpu = threading.Event(), [0.0]
    sampler = threading.Thread(target=main_process_cpu, args=(process, ended, main_cpu))
    sampler.start()
    stdout, stderr = process.communicate()
    ended.set()
    sampler.join()
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    seconds, cpu = time.monotonic() - started, cpu_seconds() - cpu
    try:
        report, _ = json.JSONDecoder().raw_decode(result.stdout)
    except ValueError:
        report = None
    if result.returncode != 0 or report is None:
        failed = [
            f"{task['task']['name']}: {host.get('msg', '')}"
            for task in tasks(report or {})
            for host in task["hosts"].values()
            if host.get("failed")
        ]
        sys.exit(
            f"{name} failed (exit {result.returncode}) after {seconds:.1f} s: "
            + ("; ".join(failed) or (result.stderr or result.stdout)[-3000:])
        )
    return report, seconds, cpu, main_cpu[0]


def tasks(report: dict) -> list[dict]:
    return [task for play in report.get("plays", []) for task in play["tasks"]]


def duration(task: dict) -> float:
    times = task["task"]["duration"]
    if "end" not in times:
        return 0.0
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
    return (
        datetime.strptime(times["end"], fmt) - datetime.strptime(times["start"], fmt)
    ).total_seconds()


def module_runs(task: dict) -> int:
    """How many times the task ran a module on a host (each loop item counts). A loop's
    items carry ansible_loop_var; a module's own `results` list (go_build's, one per
    build) is one run."""
    count = 0
    for host in task["hosts"].values():
        if host.get("action") in CONTROLLER_ACTIONS:
            continue
        items = host.get("results")
        if not (isinstance(items, list) and items and "ansible_loop_var" in items[0]):
            items = [host]
        count += sum(1 for item in items if not item.get("skipped"))
    return count


def per_role(ran: list[dict]) -> dict[str, tuple[int, int]]:
    """Tasks and module runs of each role (the play's own tasks under "play"), in run order."""
    counts: dict[str, tuple[int, int]] = {}
    for task in ran:
        name = task["task"]["name"]
        role = name.split(" : ", 1)[0].rsplit(".", 1)[-1] if " : " in name else "play"
        tasks_so_far, runs = counts.get(role, (0, 0))
        counts[role] = (tasks_so_far + 1, runs + module_runs(task))
    return counts


def floor_play(task_count: int, module_count: int, gather_subset: list) -> list[dict]:
    """A play of a rerun's shape with nothing in it: setup.yml's facts (its gather_subset),
    then module_count runs of the cheapest module (`true`) and the other tasks as set_fact.
    What Ansible itself costs for that many tasks on this machine, before any role does any
    work."""
    tasks = [{"ansible.builtin.command": "true", "changed_when": False}] * module_count
    others = task_count - module_count
    tasks += [{"ansible.builtin.set_fact": {"floor_task": n}} for n in range(others)]
    return [
        {
            "name": "The floor: a play of setup.yml's rerun shape, with no work in its tasks.",
            "hosts": "localhost",
            "gather_facts": True,
            "gather_subset": gather_subset,
            "tasks": tasks,
        }
    ]


def time_floor(ran: list[dict], checkout: Path) -> tuple[float, float]:
    """Wall and CPU seconds of floor_play for these tasks, run in checkout."""
    # Beside setup.yml, so that the same ansible.cfg, inventory and group_vars apply.
    path = checkout / ".benchmark-floor.yml"
    (setup,) = yaml.safe_load((checkout / "playbooks" / "setup.yml").read_text())
    play = floor_play(len(ran), sum(module_runs(task) for task in ran), setup["gather_subset"])
    path.write_text(json.dumps(play))
    try:
        _, seconds, cpu, _ = playbook(str(path), [], checkout)
    finally:
        path.unlink()
    return seconds, cpu


def changed_tasks(report: dict) -> list[str]:
    return [
        task["task"]["name"]
        for task in tasks(report)
        if any(host.get("changed") for host in task["hosts"].values())
    ]


def arguments(argv: list[str] | None) -> argparse.Namespace:
    """The benchmark's options (--help lists them)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Arguments after `--` go to ansible-playbook (e.g. -e workspace=DIR, --skip-tags).",
    )
    parser.add_argument("--runs", type=int, default=3, help="timed reruns (default 3)")
    parser.add_argument(
        "--converged",
        action="store_true",
        help="the machine is set up already: time every run, converge none first",
    )
    parser.add_argument(
        "--standin", action="store_true", help="the end-to-end test's vars (stand-in services)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        / "vhvcorp-devtools"
        / "benchmark-setup",
        help="--standin: where its repositories and workspace live (kept between runs)",
    )
    parser.add_argument(
        "--keep-stack", action="store_true", help="--standin: leave the stack running"
    )
    parser.add_argument(
        "--target", type=float, default=10.0, help="seconds the median must stay under (10)"
    )
    parser.add_argument(
        "--checkout",
        type=Path,
        default=REPO,
        help="run the playbooks of this checkout of the collection (e.g. an older commit's, "
        "`git archive` unpacked) to compare; default: this one",
    )
    parser.add_argument("--top", type=int, default=12, help="slowest tasks to list (12)")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time a play of the median run's shape (tasks, module runs) with no work in "
        "it: what Ansible alone costs for that many tasks here",
    )
    parser.add_argument(
        "--report", type=Path, help="write the median run's JSON report (every task) here"
    )
    parser.add_argument("playbook_args", nargs="*", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    extra = ["-e", "quick=true", *args.playbook_args]
    if args.standin:
        extra = ["-e", json.dumps(standin_vars(args.workdir)), *args.playbook_args]
    command = " ".join(["ansible-playbook", "setup.yml", *extra])
    if args.checkout != REPO:
        command += f"  (in {args.checkout})"
    print(f"benchmark-setup: {command}", flush=True)
    try:
        if not args.converged:
            _, seconds, _, _ = playbook("setup.yml", extra, args.checkout)
            print(f"converge run: {seconds:.1f} s", flush=True)
        runs = []
        for number in range(1, args.runs + 1):
            report, seconds, cpu, main = playbook("setup.yml", extra, args.checkout)
            changed = changed_tasks(report)
            if changed:
                sys.exit(f"rerun {number} changed {len(changed)} task(s): {changed}")
            runs.append((seconds, report, cpu))
            print(
                f"rerun {number}: {seconds:.2f} s (CPU {cpu:.2f} s, ansible-playbook's own "
                f"process {main:.2f} s), changed=0",
                flush=True,
            )
    finally:
        if args.standin and not args.keep_stack:
            playbook("clean.yml", extra, args.checkout)

    return summarise(runs, args) if runs else 0


def summarise(runs: list[tuple], args: argparse.Namespace) -> int:
    """Prints the median run, its slowest tasks and counts (and the floor); 1 when the
    median misses the target."""
    median_seconds, median_report, _ = sorted(runs, key=lambda run: run[0])[len(runs) // 2]
    median_cpu = sorted(run[2] for run in runs)[len(runs) // 2]
    if args.report:
        args.report.write_text(json.dumps(median_report, indent=1))
    ran = [task for task in tasks(median_report) if task["hosts"]]
    print(
        f"\nslowest tasks of the median run ({len(ran)} tasks ran, "
        f"{sum(module_runs(task) for task in ran)} module runs on the host):"
    )
    for task in sorted(ran, key=duration, reverse=True)[: args.top]:
        print(f"  {duration(task):6.2f} s  {task['task']['name']}")
    print(
        "tasks and module runs per role: "
        + ", ".join(f"{role} {count}/{runs}" for role, (count, runs) in per_role(ran).items())
    )
    if args.floor:
        floor_seconds, floor_cpu = time_floor(ran, args.checkout)
        print(
            f"the floor, a play of this shape with no work in it: {floor_seconds:.2f} s "
            f"(CPU {floor_cpu:.2f} s); the median is {median_seconds / floor_seconds:.1f}x that"
        )
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"\nsetup.yml rerun: median {median_seconds:.2f} s of {len(runs)} "
        f"({', '.join(f'{run[0]:.2f}' for run in runs)}), CPU median {median_cpu:.2f} s; "
        f"load average {load}"
    )
    if median_seconds >= args.target:
        print(f"slower than the target of {args.target:.0f} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
