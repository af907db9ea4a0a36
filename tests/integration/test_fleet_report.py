"""The fleet_report callback in a real run: a play that asks for it gets the three files,
one row per host with the reason of its failure, and no secret in any of them; a play that
does not ask gets nothing."""

import json

import pytest

pytestmark = pytest.mark.integration

SECRET = "s3cr3t-Zq8vW2pLx7Nf4Kd9"

INVENTORY = {
    "all": {
        "hosts": {
            name: {
                "ansible_connection": "local",
                "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            }
            for name in ("good", "hushed", "talkative", "mended")
        }
    }
}


def play(report: bool) -> list:
    return [
        {
            "hosts": "all",
            "gather_facts": True,
            "gather_subset": ["!all", "min"],
            "vars": {"devtools_fleet_report": report},
            "tasks": [
                {
                    "name": "Fail with the secret, hidden by no_log.",
                    "ansible.builtin.command": {
                        "argv": ["sh", "-c", f"echo JWT_SECRET={SECRET} >&2; exit 3"]
                    },
                    "no_log": True,
                    "when": "inventory_hostname == 'hushed'",
                },
                {
                    "name": "Fail quoting the secret as a pair.",
                    "ansible.builtin.fail": {"msg": f"bad .env line JWT_SECRET={SECRET}"},
                    "when": "inventory_hostname == 'talkative'",
                },
                {
                    "name": "Fail and be rescued.",
                    "when": "inventory_hostname == 'mended'",
                    "block": [{"name": "Fail first.", "ansible.builtin.fail": {"msg": "mended"}}],
                    "rescue": [{"name": "Mend it.", "ansible.builtin.meta": "noop"}],
                },
                {
                    "name": "Change something.",
                    "ansible.builtin.command": "true",
                    "changed_when": True,
                },
                {
                    "name": "Hand the versions over.",
                    "ansible.builtin.set_stats": {
                        "data": {"devtools_tool_versions": {"go": "1.24.1"}},
                        "per_host": True,
                    },
                },
            ],
        }
    ]


def run(playbook, tmp_path, report: bool):
    (tmp_path / "hosts.json").write_text(json.dumps(INVENTORY))
    (tmp_path / "play.yml").write_text(json.dumps(play(report)))
    return playbook(
        tmp_path / "play.yml",
        "-i", tmp_path / "hosts.json",
        "-e", f"jwt_secret={SECRET}",
        env={"DEVTOOLS_FLEET_REPORT_DIR": str(tmp_path / "reports")},
    )  # fmt: skip


def test_the_report_names_each_failure_and_holds_no_secret(playbook, tmp_path):
    result = run(playbook, tmp_path, report=True)
    assert result.returncode == 2, result.stdout[-3000:]
    [directory] = (tmp_path / "reports").iterdir()
    files = {p.name: p.read_text() for p in directory.iterdir()}
    assert sorted(files) == ["fleet-report.html", "fleet-report.json", "fleet-report.md"]
    for name, text in files.items():
        assert SECRET not in text, name
    assert f"Fleet report: {directory}/fleet-report.html" in result.stdout

    report = json.loads(files["fleet-report.json"])
    assert report["summary"].startswith("4 hosts: 2 onboarded, 2 failed, 0 unreachable, in ")
    rows = {row["host"]: row for row in report["hosts"]}
    assert list(rows) == ["good", "hushed", "talkative", "mended"]
    # A failure its block rescued is no failure of the host.
    assert (rows["mended"]["status"], rows["mended"]["task"], rows["mended"]["reason"]) == (
        "ok",
        None,
        None,
    )
    assert rows["good"]["status"] == "ok" and rows["good"]["changed"] == 1
    assert rows["good"]["versions"] == {"go": "1.24.1"}
    assert rows["good"]["os"] and rows["good"]["seconds"] > 0
    assert (rows["good"]["task"], rows["good"]["reason"]) == (None, None)
    assert rows["hushed"]["status"] == "failed"
    assert rows["hushed"]["task"] == "Fail with the secret, hidden by no_log."
    assert rows["hushed"]["reason"] == "the output of this task is hidden (no_log)"
    assert rows["talkative"]["task"] == "Fail quoting the secret as a pair."
    assert rows["talkative"]["reason"] == "bad .env line JWT_SECRET=<hidden>"
    assert files["fleet-report.md"].splitlines()[0] == report["summary"]


def test_a_run_that_does_not_ask_for_a_report_writes_none(playbook, tmp_path):
    result = run(playbook, tmp_path, report=False)
    assert result.returncode == 2, result.stdout[-3000:]
    assert not (tmp_path / "reports").exists()
    assert "Fleet report:" not in result.stdout
