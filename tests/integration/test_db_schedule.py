"""db-schedule.yml as users type it, pointed at temporary places only (a cron file, a unit
directory, an agents directory, a workspace under tmp_path): never this machine's crontab
or the user's systemd directory. The jobs it installs are run as the scheduler would run
them, and make and verify a real backup of the harness's FerretDB."""

from __future__ import annotations

import os
import plistlib
import subprocess

import pytest


@pytest.fixture
def schedule(playbook, tmp_path, ferretdb_uri, fresh_db_name):
    """Runs db-schedule.yml on a workspace under tmp_path, with these extra -e options."""
    workspace = tmp_path / "ws"

    def run(*extra: str):
        return playbook(
            "db-schedule.yml",
            "-e",
            f"workspace={workspace}",
            "-e",
            f"mongodb_uri={ferretdb_uri}",
            "-e",
            f"mongodb_database={fresh_db_name}",
            *extra,
        )

    run.workspace = workspace
    run.dir = workspace / ".devtools" / "schedule"
    return run


def ok(run, changed: bool):
    assert run.returncode == 0, run.stdout[-3000:]
    assert ("changed=0" not in run.stdout) == changed, run.stdout[-3000:]


def test_cron_jobs_installed_run_idempotent_and_removed(
    schedule, playbook, tmp_path, ferretdb_uri, fresh_db_name
):
    crontab = tmp_path / "crontab"
    cron = ("-e", "method=cron", "-e", f"cron_file={crontab}")
    ok(schedule(*cron), changed=True)
    lines = [line for line in crontab.read_text().splitlines() if not line.startswith("#")]
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    assert lines == [
        f"0 2 * * * {user} {schedule.dir}/db-backup.sh",
        f"0 3 * * * {user} {schedule.dir}/verify-backup.sh",
    ]
    settings = schedule.dir / "settings.yml"
    assert oct(settings.stat().st_mode & 0o777) == "0o600"
    assert oct(schedule.dir.stat().st_mode & 0o777) == "0o700"
    assert ferretdb_uri in settings.read_text()
    assert ferretdb_uri not in crontab.read_text()
    ok(schedule(*cron), changed=False)

    # The jobs as cron runs them: no terminal, another directory, a bare environment.
    target = ("-e", f"mongodb_uri={ferretdb_uri}", "-e", f"mongodb_database={fresh_db_name}")
    assert playbook("db-seed.yml", *target).returncode == 0
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ["HOME"], "LANG": "C.UTF-8"}
    made = subprocess.run([schedule.dir / "db-backup.sh"], cwd="/", env=env, check=False)
    log = (schedule.dir / "db-backup.log").read_text()
    assert made.returncode == 0, log[-3000:]
    archives = list((schedule.workspace / "backups" / "daily").glob("mongodb-*.tar.gz"))
    assert len(archives) == 1, log[-3000:]
    assert log.strip().splitlines()[-1].startswith(f"{archives[0]} "), log[-3000:]
    checked = subprocess.run([schedule.dir / "verify-backup.sh"], cwd="/", env=env, check=False)
    log = (schedule.dir / "verify-backup.log").read_text()
    assert checked.returncode == 0, log[-3000:]
    assert log.strip().splitlines()[-1].startswith(f"{archives[0]} verified: "), log[-3000:]

    # Check mode says what removing would change, and changes nothing.
    before = crontab.read_text()
    ok(schedule(*cron, "-e", "state=absent", "--check"), changed=True)
    assert crontab.read_text() == before
    ok(schedule(*cron, "-e", "state=absent"), changed=True)
    assert not crontab.exists()  # the cron module removes a cron file it leaves empty
    assert not (schedule.dir / "db-backup.sh").exists() and not settings.exists()
    assert (schedule.dir / "db-backup.log").exists()  # the logs stay
    ok(schedule(*cron, "-e", "state=absent"), changed=False)


def test_systemd_timers_written_idempotent_and_removed(schedule, tmp_path):
    units = tmp_path / "units"
    systemd = ("-e", "method=systemd", "-e", f"database_schedule_systemd_dir={units}")
    ok(schedule(*systemd), changed=True)
    assert sorted(p.name for p in units.iterdir()) == [
        "vhvcorp-devtools-db-backup.service",
        "vhvcorp-devtools-db-backup.timer",
        "vhvcorp-devtools-verify-backup.service",
        "vhvcorp-devtools-verify-backup.timer",
    ]
    timer = (units / "vhvcorp-devtools-db-backup.timer").read_text()
    assert "OnCalendar=*-*-* 02:00:00" in timer and "Persistent=true" in timer
    verify = (units / "vhvcorp-devtools-verify-backup.timer").read_text()
    assert "OnCalendar=*-*-* 03:00:00" in verify
    service = (units / "vhvcorp-devtools-db-backup.service").read_text()
    assert f"ExecStart={schedule.dir}/db-backup.sh" in service
    ok(schedule(*systemd), changed=False)
    ok(schedule(*systemd, "-e", "state=absent"), changed=True)
    assert list(units.iterdir()) == []
    ok(schedule(*systemd, "-e", "state=absent"), changed=False)


def test_launchd_agents_rendered(schedule, tmp_path):
    agents = tmp_path / "agents"
    launchd = ("-e", "method=launchd", "-e", f"database_schedule_launchd_dir={agents}")
    ok(schedule(*launchd, "-e", "database_schedule_backup_at=01:30"), changed=True)
    backup = plistlib.loads((agents / "com.vhvcorp.devtools.db-backup.plist").read_bytes())
    assert backup["StartCalendarInterval"] == {"Hour": 1, "Minute": 30}
    assert backup["ProgramArguments"] == [f"{schedule.dir}/db-backup.sh"]
    verify = plistlib.loads((agents / "com.vhvcorp.devtools.verify-backup.plist").read_bytes())
    assert verify["StartCalendarInterval"] == {"Hour": 3, "Minute": 0}
    ok(schedule(*launchd, "-e", "database_schedule_backup_at=01:30"), changed=False)
    ok(schedule(*launchd, "-e", "state=absent"), changed=True)
    assert list(agents.iterdir()) == []
