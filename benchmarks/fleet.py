#!/usr/bin/env python3
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a fleet costs the controller: 1, 10 and 20 hosts in the same run.

Starts 20 simulated hosts (tests/fleet_fixtures.py: containers of the local Debian 11, 12
and 13 images with sshd, the prerequisites' packages installed, reached over SSH on
127.0.0.1) and times, for the first 1, 10 and 20 of them (--limit), the wall seconds and the
controller's CPU seconds (ansible-playbook, its workers and its ssh clients) of:

  (a) a play with as many tasks as onboarding's rerun runs per host, whose work on the host
      is trivial (ping where onboarding runs a module, set_fact where it does not, facts as
      onboarding gathers them): what Ansible itself costs per host;
  (b) onboarding's rerun with nothing to do (onboarding.yml --tags deps,workspace, after one
      converging run; every timed run must change nothing). The simulated hosts share this
      machine's cores, so their own work (Python starting for each module, the facts)
      adds up here as it would not on real machines.

(a) runs with each configuration of --configs: `plain` is Ansible's defaults (5 forks, no
pipelining, every fact), `ours` the collection's (ansible.cfg and onboarding.yml); --ladder
adds one setting at a time between the two. Runs alternate (for each repeat: each size,
each configuration), and the table shows the medians and each size's ratio to one host.
"main" is the CPU of ansible-playbook's own process: its strategy loop queues every task
for every host and takes every result in one thread, so no fork count spreads it.

    python benchmarks/fleet.py                  # plain and ours, (a) and (b), 2 repeats
    python benchmarks/fleet.py --ladder --repeats 1
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SIZES = (1, 10, 20)
SUITES = ("bullseye", "bookworm", "trixie")
TAGS = "deps,workspace"
# Throwaway, for the simulated hosts' .env only.
JWT_SECRET = "benchmark-fleet-not-a-secret-0123456789"  # noqa: S105


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The playbook runner and the task counting of the setup benchmark.
rerun = load(REPO / "benchmarks" / "setup_rerun.py")

# Ansible's defaults, then one setting at a time up to the collection's own (ours). Each is
# (environment on top of ansible.cfg, gather_subset of the trivial play, its strategy).
_PLAIN_ENV = {"ANSIBLE_FORKS": "5", "ANSIBLE_PIPELINING": "false"}
CONFIGS = {
    "plain": (_PLAIN_ENV, ["all"], "linear"),
    "+forks": ({"ANSIBLE_PIPELINING": "false"}, ["all"], "linear"),
    "+pipelining": ({}, ["all"], "linear"),
    "+fewer facts": ({}, ["!all", "min", "hardware"], "linear"),
    "+free": ({}, ["!all", "min", "hardware"], "free"),
    "no ControlPersist": (
        {"ANSIBLE_SSH_ARGS": "-o ControlMaster=no"},
        ["!all", "min", "hardware"],
        "linear",
    ),
    "ssh without -C": (
        {"ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=60s"},
        ["!all", "min", "hardware"],
        "linear",
    ),
    "poll 0.01 s": (
        {"ANSIBLE_INTERNAL_POLL_INTERVAL": "0.01"},
        ["!all", "min", "hardware"],
        "linear",
    ),
    # Facts from the last run (a warm-up run fills the cache): no setup module at all.
    "fact cache": (
        {
            "ANSIBLE_GATHERING": "smart",
            "ANSIBLE_CACHE_PLUGIN": "ansible.builtin.jsonfile",
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": "{workdir}/facts",
            "ANSIBLE_CACHE_PLUGIN_TIMEOUT": "3600",
        },
        ["!all", "min", "hardware"],
        "linear",
    ),
    # Facts only under ansible_facts, not also as ansible_* variables of every host.
    "no fact vars": ({"ANSIBLE_INJECT_FACT_VARS": "false"}, ["!all", "min", "hardware"], "linear"),
    "ours": ({}, ["!all", "min", "hardware"], "linear"),
}
LADDER = ["plain", "+forks", "+pipelining", "+fewer facts", "+free", "no ControlPersist", "ours"]


def trivial_play(path: Path, modules: int, others: int, subset: list, strategy: str) -> Path:
    """A play of `modules` module runs (the facts, then ping) and `others` tasks that run
    on the controller only (set_fact), on every host of the inventory."""
    tasks = [{"name": f"Module {n}.", "ansible.builtin.ping": {}} for n in range(modules - 1)]
    tasks += [
        {"name": f"Controller {n}.", "ansible.builtin.set_fact": {"benchmark_n": n}}
        for n in range(others)
    ]
    play = {
        "name": "Trivial work, onboarding's task count.",
        "hosts": "all",
        "gather_facts": True,
        "gather_subset": subset,
        "strategy": strategy,
        "tasks": tasks,
    }
    path.write_text(json.dumps([play]))
    return path


def timed(name: str, args: list[str], env: dict) -> tuple[float, float, float, dict]:
    report, seconds, cpu, main_cpu = rerun.playbook(name, args, env=env)
    return seconds, cpu, main_cpu, report


def record(figures: dict, row: str, size: int, seconds: float, cpu: float, main: float) -> None:
    figures.setdefault((row, size), []).append((seconds, cpu, main))
    print(
        f"  {row:<24} {size:>2} hosts: {seconds:6.1f} s, CPU {cpu:6.1f} s (main {main:5.1f} s)",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each (2)")
    parser.add_argument(
        "--ladder", action="store_true", help="(a) with every configuration, one setting at a time"
    )
    parser.add_argument("--no-b", action="store_true", help="leave out (b)")
    parser.add_argument(
        "--configs", nargs="+", choices=list(CONFIGS), default=["plain", "ours"], help="of (a)"
    )
    args = parser.parse_args(argv)
    configs = LADDER if args.ladder else args.configs

    fixtures = load(REPO / "tests" / "fleet_fixtures.py")
    with tempfile.TemporaryDirectory(prefix="devtools-benchmark-fleet-") as tmp:
        workdir = Path(tmp)
        fleet = fixtures.Fleet(workdir)
        try:
            names = [f"bench-{n:02}" for n in range(1, max(SIZES) + 1)]
            for number, name in enumerate(names):
                fleet.add(name, SUITES[number % len(SUITES)], prerequisites=True)
            fleet.wait()
            inventory = str(fleet.inventory())
            onboarding = ["-i", inventory, "--tags", TAGS, "-e", f"jwt_secret={JWT_SECRET}"]
            print(f"benchmark-fleet: {len(names)} hosts up; converging onboarding", flush=True)
            seconds, _, _, _ = timed("onboarding.yml", onboarding, {})
            print(f"converging run (20 hosts): {seconds:.1f} s", flush=True)

            # Onboarding's rerun of one host: how many tasks, how many of them modules.
            seconds, _, _, report = timed("onboarding.yml", [*onboarding, "--limit", names[0]], {})
            ran = [task for task in rerun.tasks(report) if task["hosts"]]
            modules = sum(rerun.module_runs(task) for task in ran)
            print(
                f"onboarding's rerun runs {len(ran)} tasks per host, {modules} of them modules",
                flush=True,
            )
            plays = {
                config: trivial_play(
                    workdir / f"trivial-{n}.json", modules, len(ran) - modules, *CONFIGS[config][1:]
                )
                for n, config in enumerate(configs)
            }

            envs = {
                config: {k: v.format(workdir=workdir) for k, v in CONFIGS[config][0].items()}
                for config in configs
            }
            for config in configs:
                if "ANSIBLE_CACHE_PLUGIN" in envs[config]:
                    timed(str(plays[config]), ["-i", inventory], envs[config])
            figures: dict[tuple[str, int], list[tuple[float, float]]] = {}
            for _repeat in range(args.repeats):
                for size in SIZES:
                    limit = ["--limit", ",".join(names[:size])]
                    for config in configs:
                        seconds, cpu, main, _ = timed(
                            str(plays[config]), ["-i", inventory, *limit], envs[config]
                        )
                        record(figures, f"(a) {config}", size, seconds, cpu, main)
                    if not args.no_b:
                        seconds, cpu, main, report = timed(
                            "onboarding.yml", [*onboarding, *limit], {}
                        )
                        changed = rerun.changed_tasks(report)
                        if changed:
                            sys.exit(f"onboarding's rerun changed {changed}")
                        record(figures, "(b) onboarding rerun", size, seconds, cpu, main)
        finally:
            fleet.remove()

    load_avg = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"\nmedians of {args.repeats}, load average {load_avg}, {os.cpu_count()} CPUs")
    print("| run | " + " | ".join(f"{size} host{'s' * (size > 1)}" for size in SIZES) + " |")
    print("| --- |" + " --- |" * len(SIZES))
    for row in dict.fromkeys(row for row, _ in figures):
        cells = []
        one = statistics.median(s for s, _, _ in figures[(row, SIZES[0])])
        for size in SIZES:
            seconds, cpu, main = (
                statistics.median(run[n] for run in figures[(row, size)]) for n in range(3)
            )
            ratio = f" ({seconds / one:.1f}x)" if size != SIZES[0] else ""
            cells.append(f"{seconds:.1f} s{ratio}, CPU {cpu:.1f} s (main {main:.1f} s)")
        note = " (the hosts share this machine's cores)" if row.startswith("(b)") else ""
        print(f"| {row}{note} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
