"""The pull_mode role renders the systemd user service and timer, and the launchd agent,
that run ansible-pull on a schedule, each with the one command; a second run changes
nothing. (Activating them needs a user's systemd or launchd, which this machine has not:
pull_mode_activate is false here.)"""

import json
import plistlib
import re
import shlex
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

COMMAND = [
    "ansible-pull",
    "--url", "https://git.example.internal/platform/ansible-devtools.git",
    "--checkout", "main",
    "--directory", "/home/dev/.local/share/vhvcorp-devtools/pull",
    "--inventory", "localhost,",
    "--connection", "local",
    "--only-if-changed",
    "onboarding.yml", "-e", "fleet_groups=localhost",
]  # fmt: skip


def apply(playbook, tmp_path: Path, scheduler: str):
    play = [
        {
            "hosts": "localhost",
            "gather_facts": True,
            "gather_subset": ["!all", "min"],
            "roles": [
                {
                    "role": "vhvcorp.devtools.pull_mode",
                    "pull_mode_scheduler": scheduler,
                    "pull_mode_activate": False,
                    "pull_mode_repo_url": COMMAND[2],
                    "pull_mode_checkout_dir": COMMAND[6],
                    "pull_mode_interval_minutes": 30,
                    "pull_mode_systemd_dir": str(tmp_path / "systemd"),
                    "pull_mode_launchd_dir": str(tmp_path / "LaunchAgents"),
                }
            ],
        }
    ]
    (tmp_path / "play.yml").write_text(json.dumps(play))
    return playbook(tmp_path / "play.yml")


def recap_changed(stdout: str) -> int:
    return int(re.search(r"^localhost\s+: ok=\d+\s+changed=(\d+)", stdout, re.M).group(1))


def test_the_systemd_timer_runs_the_command_every_interval(playbook, tmp_path):
    first = apply(playbook, tmp_path, "systemd")
    assert first.returncode == 0, first.stdout[-3000:]
    assert recap_changed(first.stdout) == 2  # the directory; the service and timer (one task)
    service = (tmp_path / "systemd" / "vhvcorp-devtools-pull.service").read_text()
    [exec_start] = [line for line in service.splitlines() if line.startswith("ExecStart=")]
    assert shlex.split(exec_start.removeprefix("ExecStart=")) == ["/usr/bin/env", *COMMAND]
    assert "Type=oneshot" in service.splitlines()
    timer = (tmp_path / "systemd" / "vhvcorp-devtools-pull.timer").read_text().splitlines()
    assert "OnUnitActiveSec=30min" in timer and "WantedBy=timers.target" in timer
    # The command to run by hand (the output folds long lines).
    assert shlex.join(COMMAND) in " ".join(first.stdout.split())
    assert not (tmp_path / "LaunchAgents").exists()

    again = apply(playbook, tmp_path, "systemd")
    assert again.returncode == 0 and recap_changed(again.stdout) == 0, again.stdout[-3000:]


def test_the_launchd_agent_runs_the_command_every_interval(playbook, tmp_path):
    first = apply(playbook, tmp_path, "launchd")
    assert first.returncode == 0, first.stdout[-3000:]
    agent = plistlib.loads(
        (tmp_path / "LaunchAgents" / "com.vhvcorp.devtools.pull.plist").read_bytes()
    )
    assert agent["Label"] == "com.vhvcorp.devtools.pull"
    assert agent["ProgramArguments"] == COMMAND
    assert agent["StartInterval"] == 1800 and agent["RunAtLoad"] is True
    assert agent["EnvironmentVariables"]["PATH"].endswith("/usr/bin:/bin")
    assert not (tmp_path / "systemd").exists()

    again = apply(playbook, tmp_path, "launchd")
    assert again.returncode == 0 and recap_changed(again.stdout) == 0, again.stdout[-3000:]
