"""The fleet report's pure parts: the one-line reason, the OS, and the three renderings."""

import json

from ansible_collections.vhvcorp.devtools.plugins.callback.fleet_report import (
    facts_os,
    failure_reason,
    one_line,
    render_html,
    render_markdown,
    write_report,
)

REPORT = {
    "summary": "2 hosts: 1 onboarded, 1 failed, 0 unreachable, in 12 s",
    "started": "2026-12-06T13:00:00",
    "playbook": "onboarding.yml",
    "hosts": [
        {
            "host": "dev-01",
            "status": "ok",
            "os": "Debian 12.8 (aarch64)",
            "changed": 3,
            "versions": {"docker": "26.1.5", "compose": "2.29.1", "go": "1.24.1", "air": "v1.52.3"},
            "seconds": 8.5,
            "task": None,
            "reason": None,
        },
        {
            "host": "dev-<02>",
            "status": "failed",
            "os": "Debian 11.11 (x86_64)",
            "changed": 0,
            "versions": {},
            "seconds": 2.0,
            "task": "Install the packages.",
            "reason": "No package matching 'gti' | found",
        },
    ],
}


def test_a_reason_is_one_line_and_hides_the_values_of_secret_keys():
    text = "boom\n  JWT_SECRET=abc123 password: \"hunter 2\" api_token='t0k' other=fine"
    assert (
        one_line(text)
        == "boom JWT_SECRET=<hidden> password: <hidden> api_token=<hidden> other=fine"
    )
    assert len(one_line("x" * 1000)) == 300


def test_a_censored_result_says_so_and_nothing_else():
    censored = {"censored": "the output has been hidden", "msg": "JWT_SECRET=abc"}
    assert failure_reason(censored) == "the output of this task is hidden (no_log)"


def test_a_failed_command_is_explained_by_its_last_line_of_stderr():
    result = {
        "msg": "non-zero return code",
        "rc": 100,
        "stderr": "W: one\nE: Unable to locate package gti\n",
    }
    assert failure_reason(result) == "non-zero return code: E: Unable to locate package gti"
    loop = {
        "msg": "One or more items failed",
        "results": [{"failed": False}, {"failed": True, "msg": "bad item"}],
    }
    assert failure_reason(loop) == "One or more items failed"
    assert failure_reason({"results": [{"failed": True, "msg": "bad item"}]}) == "bad item"


def test_a_message_that_quotes_its_command_is_explained_by_the_error_it_ends_with():
    # What the apt module says when dpkg is broken: the command line (hundreds of characters
    # with every package pinned) first, the error last, and again alone on stderr.
    error = (
        "E: dpkg was interrupted, you must manually run 'dpkg --configure -a' "
        "to correct the problem."
    )
    result = {
        "msg": "'/usr/bin/apt-get -y install "
        + " ".join(f"'pkg{n}=1.0-{n}'" for n in range(40))
        + f"' failed: {error}\n",
        "rc": 100,
        "stderr": f"{error}\n",
    }
    assert failure_reason(result) == error


def test_the_os_comes_from_the_facts_with_or_without_their_prefix():
    prefixed = {
        "ansible_distribution": "Debian",
        "ansible_distribution_version": "13",
        "ansible_architecture": "aarch64",
    }
    assert facts_os(prefixed) == "Debian 13 (aarch64)"
    assert facts_os({"distribution": "MacOSX", "distribution_version": "15.1"}) == "MacOSX 15.1"
    assert facts_os({"ansible_lsb": {}}) is None


def test_markdown_starts_with_the_summary_and_has_a_row_per_host():
    lines = render_markdown(REPORT).splitlines()
    assert lines[0] == REPORT["summary"]
    assert lines[2] == (
        "| host | status | os | changed | docker | compose | go | air | seconds "
        "| failed task | reason |"
    )
    assert (
        lines[4]
        == "| dev-01 | ok | Debian 12.8 (aarch64) | 3 | 26.1.5 | 2.29.1 | 1.24.1 | v1.52.3 "
        "| 8.5 |  |  |"
    )
    assert lines[5] == (
        "| dev-<02> | failed | Debian 11.11 (x86_64) | 0 |  |  |  |  | 2.0 | Install the packages. "
        "| No package matching 'gti' \\| found |"
    )


def test_html_is_one_self_contained_page_with_everything_escaped():
    page = render_html(REPORT)
    assert page.startswith("<!DOCTYPE html>")
    assert (
        "<style>" in page and "<link" not in page and "<script" not in page and "src=" not in page
    )
    assert page.index(REPORT["summary"]) < page.index("<table>")
    assert "dev-&lt;02&gt;" in page and "dev-<02>" not in page
    assert page.count('<tr class="ok">') == 1 and page.count('<tr class="failed">') == 1


def test_the_three_files_are_written_and_the_json_is_the_report(tmp_path):
    directory = write_report(REPORT, str(tmp_path / "reports" / "2026-12-06-130000"))
    names = sorted(p.name for p in (tmp_path / "reports" / "2026-12-06-130000").iterdir())
    assert names == ["fleet-report.html", "fleet-report.json", "fleet-report.md"]
    assert (
        json.loads((tmp_path / "reports" / "2026-12-06-130000" / "fleet-report.json").read_text())
        == REPORT
    )
    assert directory.endswith("2026-12-06-130000")
