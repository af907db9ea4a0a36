"""onboarding.yml over SSH on a simulated fleet of 20 hosts (tests/fleet_fixtures.py): 17
good ones, Debian 11, 12 and 13 in turn, and three that fail in the ways a fleet does: one
without Python, one whose package manager is broken (dpkg was interrupted, so apt refuses
to install) and one stopped before the run. Each good host is onboarded, each of the other
three is named in the report with its task and a one-line reason, the exit code says some
host failed, no secret reaches the report, and a second run changes nothing on the good
hosts.

Tags deps and workspace only: the packages, the resource check and the workspace with its
.env and secrets, about two minutes per run for the fleet here. Docker (docker.io), Go (a
toolchain zip per host) and the Go tools would add minutes per host on this machine's two
shared cores, and prove nothing about the fleet that these do not; they have their
molecule scenarios. For the same reason the prerequisites role's packages come with the
image of 14 good hosts (the role finds them and installs nothing, as on a machine that has
them); the first good host of each Debian release installs them from Debian's mirror.
"""

import json
import tempfile
from pathlib import Path

import fleet_fixtures  # tests/: pythonpath
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "fleet-jwt-Hq3vR8mZt2Lw9Xc5Yb7N"
SUITES = {"bullseye": "11", "bookworm": "12", "trixie": "13"}
# dev-01 .. dev-17, Debian 11, 12 and 13 in turn.
GOOD = {f"dev-{n:02}": list(SUITES)[(n - 1) % 3] for n in range(1, 18)}
# The hosts that install the prerequisites' packages themselves: one per release.
FRESH = {"dev-01", "dev-02", "dev-03"}


@pytest.fixture(scope="module")
def workdir():
    """The fleet's key, inventory and reports. Not under pytest's tmp_path: pytest keeps only
    the three newest base directories of a user, so a pytest started meanwhile on this machine
    (by another checkout) would delete the key from under a run that lasts minutes."""
    with tempfile.TemporaryDirectory(prefix="devtools-fleet-") as path:
        yield Path(path)


@pytest.fixture(scope="module")
def fleet(workdir):
    (workdir / "fleet").mkdir()
    fleet = fleet_fixtures.Fleet(workdir / "fleet")
    try:
        for name, suite in GOOD.items():
            fleet.add(name, suite, prerequisites=name not in FRESH)
        fleet.add("nopython-01", python=False)
        fleet.add("dpkg-01")
        fleet.add("gone-01")
        fleet.wait()
        # A dpkg run cut short leaves its journal: apt then refuses to install anything.
        fleet.exec("dpkg-01", "touch", "/var/lib/dpkg/updates/0001")
        fleet.stop("gone-01")
        yield fleet
    finally:
        fleet.remove()


def onboard(playbook, fleet, reports: Path):
    return playbook(
        "onboarding.yml",
        "-i", fleet.inventory(),
        "--tags", "deps,workspace",
        "-e", f"jwt_secret={SECRET}",
        env={"DEVTOOLS_FLEET_REPORT_DIR": str(reports)},
        timeout=1200,
    )  # fmt: skip


def read_report(reports: Path) -> tuple[dict, dict]:
    [directory] = reports.iterdir()
    files = {p.name: p.read_text() for p in directory.iterdir()}
    return json.loads(files["fleet-report.json"]), files


@pytest.fixture(scope="module")
def first_run(playbook, fleet, workdir):
    return onboard(playbook, fleet, workdir / "reports-1"), workdir / "reports-1"


def test_every_good_host_is_onboarded_and_the_others_named(first_run, fleet):
    result, reports = first_run
    # Ansible's exit code: 4 when a host was unreachable, else 2 when one failed.
    assert result.returncode == 4, result.stdout[-4000:]
    report, files = read_report(reports)
    assert report["summary"].startswith("20 hosts: 17 onboarded, 2 failed, 1 unreachable, in ")
    rows = {row["host"]: row for row in report["hosts"]}
    assert set(rows) == {*GOOD, "nopython-01", "dpkg-01", "gone-01"}

    for name, suite in GOOD.items():
        row = rows[name]
        assert row["status"] == "ok", row
        assert row["os"].split()[1].split(".")[0] == SUITES[suite], row
        assert row["os"].startswith("Debian ") and row["os"].endswith("(x86_64)"), row
        assert row["changed"] > 0 and row["seconds"] > 0
        assert row["versions"] == {
            "git": fleet.exec(name, "git", "--version").removeprefix("git version ")
        }
        assert (row["task"], row["reason"]) == (None, None)
        # The workspace is there, its .env holds the secret, 0600, in root's home on that host.
        assert fleet.exec(name, "stat", "-c", "%a", "/root/workspace/go-platform/.env") == "600"
        assert f"JWT_SECRET={SECRET}" in fleet.exec(name, "cat", "/root/workspace/go-platform/.env")
    # The hosts that had none of the packages have them now, from their release's mirror.
    for name in FRESH:
        assert fleet.exec(name, "dpkg-query", "-W", "-f", "${Status}", "protobuf-compiler") == (
            "install ok installed"
        )

    nopython = rows["nopython-01"]
    assert (nopython["status"], nopython["task"], nopython["reason"]) == (
        "failed",
        "Check that the host answers and runs Python.",
        "The module interpreter '/usr/bin/python3' was not found.",
    )
    dpkg = rows["dpkg-01"]
    assert (dpkg["status"], dpkg["task"]) == (
        "failed",
        "vhvcorp.devtools.prerequisites : Install the packages with apt.",
    )
    assert dpkg["reason"] == (
        "E: dpkg was interrupted, you must manually run 'dpkg --configure -a' "
        "to correct the problem."
    )
    gone = rows["gone-01"]
    assert gone["status"] == "unreachable"
    assert gone["task"] == "Check that the host answers and runs Python."
    assert (
        "Connection refused" in gone["reason"]
        and f"port {fleet.hosts['gone-01']['ansible_port']}" in gone["reason"]
    )

    for name, text in files.items():
        assert SECRET not in text, name
    md = files["fleet-report.md"].splitlines()
    # The summary, then the table: its head, its rule and a row per host.
    assert md[0] == report["summary"] and len([line for line in md if line.startswith("| ")]) == 22
    assert files["fleet-report.html"].count("<tr class=") == 20


def test_a_second_run_changes_nothing_on_the_good_hosts(first_run, playbook, fleet, workdir):
    result, _ = first_run
    assert result.returncode == 4, result.stdout[-4000:]
    again = onboard(playbook, fleet, workdir / "reports-2")
    assert again.returncode == 4, again.stdout[-4000:]
    report, _ = read_report(workdir / "reports-2")
    rows = {row["host"]: row for row in report["hosts"]}
    assert {name: (rows[name]["status"], rows[name]["changed"]) for name in GOOD} == {
        name: ("ok", 0) for name in GOOD
    }, again.stdout[-4000:]
    assert {name: rows[name]["status"] for name in ("nopython-01", "dpkg-01", "gone-01")} == {
        "nopython-01": "failed",
        "dpkg-01": "failed",
        "gone-01": "unreachable",
    }
