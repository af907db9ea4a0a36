# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
name: fleet_report
type: notification
short_description: Writes a fleet run's report, one row per host, as JSON, Markdown and HTML
description:
  - At the end of a run in which a play sets the variable C(devtools_fleet_report) to true
    (every play of C(onboarding.yml) does), writes C(<dir>/<date>-<time>/) with
    C(fleet-report.json), C(fleet-report.md) and C(fleet-report.html) (one page with its
    style inline, nothing fetched), and prints the directory after the recap. Other
    playbooks write nothing.
  - Each starts with a summary line (hosts onboarded, failed, unreachable), then one row
    per host, in the order the hosts first appeared, with status, OS and version with
    the CPU architecture (from the facts the run gathered), the count of changed tasks,
    the versions of Docker, Compose, Go and the tools (which a play hands over with
    C(ansible.builtin.set_stats) as C(devtools_tool_versions), C(per_host=true)), the
    host's duration (its first task's start to its last result) and, for a failed or
    unreachable host, the task and the reason in one line.
  - Never a secret. It takes only these fields from the results; a C(no_log) task's result
    reaches callbacks already censored, so its reason reads as censored; and a reason
    that quotes a C(key=value) pair (or one with a colon) whose key names a secret,
    password, token or key has the value replaced.
  - Enabled by the collection's C(ansible.cfg) (C(callbacks_enabled)).
options:
  report_dir:
    description: The directory under which each run's C(<date>-<time>) directory goes.
    default: reports
    type: path
    env:
      - name: DEVTOOLS_FLEET_REPORT_DIR
    ini:
      - section: devtools_fleet_report
        key: report_dir
requirements:
  - enabled in C(callbacks_enabled)
"""

import datetime
import html
import json
import os
import re
import time

from ansible.plugins.callback import CallbackBase

# The columns of the versions, in this order; any other tool reported follows, sorted.
VERSION_COLUMNS = ("docker", "compose", "go")
# `JWT_SECRET=abc`, `password: abc`, `"api_token": "abc"`: the value goes.
SECRET_PAIR = re.compile(
    r"""(?i)(["']?[\w.-]*(?:secret|passw(?:or)?d|token|key)[\w.-]*["']?\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)"""
)
REASON_LENGTH = 300


def one_line(text, limit=REASON_LENGTH):
    """The text on one line, secrets' values hidden, at most `limit` characters."""
    line = " ".join(str(text).split())
    line = SECRET_PAIR.sub(r"\1<hidden>", line)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def failure_reason(result):
    """One line saying why a task failed or a host was unreachable."""
    if result.get("censored"):
        return "the output of this task is hidden (no_log)"
    msg = result.get("msg") or result.get("reason") or ""
    # A failed command says only "non-zero return code": its last line of stderr says why.
    # A module that quotes its command line before the error (apt: "'apt-get ... install
    # <every package>' failed: E: ...") would have the error cut off: stderr's line alone.
    stderr = [line.strip() for line in str(result.get("stderr") or "").splitlines() if line.strip()]
    if stderr and (not msg or msg == "non-zero return code"):
        msg = f"{msg}: {stderr[-1]}" if msg else stderr[-1]
    elif stderr and stderr[-1] in msg:
        msg = stderr[-1]
    if not msg and result.get("results"):
        failed = [r for r in result["results"] if isinstance(r, dict) and r.get("failed")]
        if failed:
            return failure_reason(failed[0])
    return one_line(msg or "failed with no message")


def facts_os(facts):
    """`Debian 12.8 (x86_64)` from a setup result's facts (with or without their prefix)."""

    def fact(name):
        return facts.get(f"ansible_{name}", facts.get(name))

    name = fact("distribution")
    if not name:
        return None
    version = fact("distribution_version") or ""
    arch = fact("architecture")
    return " ".join(filter(None, [name, version])) + (f" ({arch})" if arch else "")


def summary_line(rows, seconds):
    counts = {
        status: sum(1 for r in rows if r["status"] == status)
        for status in ("ok", "failed", "unreachable")
    }
    return (
        f"{len(rows)} hosts: {counts['ok']} onboarded, {counts['failed']} failed, "
        f"{counts['unreachable']} unreachable, in {seconds:.0f} s"
    )


def version_columns(rows):
    seen = {tool for r in rows for tool in r["versions"]}
    return list(VERSION_COLUMNS) + sorted(seen - set(VERSION_COLUMNS))


def render_markdown(report):
    columns = version_columns(report["hosts"])
    head = ["host", "status", "os", "changed", *columns, "seconds", "failed task", "reason"]
    lines = [report["summary"], "", "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]

    def cell(value):
        return "" if value is None else str(value).replace("|", "\\|")

    for r in report["hosts"]:
        values = [
            r["host"],
            r["status"],
            r["os"],
            r["changed"],
            *(r["versions"].get(c) for c in columns),
        ]
        values += [r["seconds"], r["task"], r["reason"]]
        lines.append("| " + " | ".join(cell(v) for v in values) + " |")
    return "\n".join(lines) + "\n"


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
p.summary { font-size: 1.2rem; font-weight: 600; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
tr.failed td.status, tr.unreachable td.status { color: #b00020; font-weight: 600; }
tr.ok td.status { color: #1b7e34; }
"""


def render_html(report):
    esc = html.escape
    columns = version_columns(report["hosts"])
    head = ["host", "status", "OS", "changed", *columns, "seconds", "failed task", "reason"]
    rows = []
    for r in report["hosts"]:
        cells = [f"<td>{esc(r['host'])}</td>", f'<td class="status">{esc(r["status"])}</td>']
        values = [
            r["os"],
            r["changed"],
            *(r["versions"].get(c) for c in columns),
            r["seconds"],
            r["task"],
            r["reason"],
        ]
        cells += [f"<td>{esc('' if v is None else str(v))}</td>" for v in values]
        rows.append(f'<tr class="{esc(r["status"])}">{"".join(cells)}</tr>')
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>Fleet report {esc(report['started'])}</title><style>{STYLE}</style></head>\n"
        f'<body><p class="summary">{esc(report["summary"])}</p>\n'
        f"<p>Started {esc(report['started'])}, playbook {esc(report['playbook'] or '')}.</p>\n"
        "<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr></thead>\n"
        "<tbody>\n" + "\n".join(rows) + "\n</tbody></table></body></html>\n"
    )


def write_report(report, directory):
    """Writes the three files into `directory` (made, with its parents) and returns it."""
    os.makedirs(directory, exist_ok=True)
    files = {
        "fleet-report.json": json.dumps(report, indent=2, ensure_ascii=False) + "\n",
        "fleet-report.md": render_markdown(report),
        "fleet-report.html": render_html(report),
    }
    for name, text in files.items():
        with open(os.path.join(directory, name), "w", encoding="utf-8") as handle:
            handle.write(text)
    return directory


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "vhvcorp.devtools.fleet_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._wanted = False
        self._playbook = None
        self._started = time.time()
        self._hosts = {}  # name -> {os, first, last, task, reason}

    def _host(self, name):
        return self._hosts.setdefault(
            name, {"os": None, "first": None, "last": None, "task": None, "reason": None}
        )

    def v2_playbook_on_start(self, playbook):
        self._playbook = os.path.basename(getattr(playbook, "_file_name", "") or "")

    def v2_playbook_on_play_start(self, play):
        if str(play.vars.get("devtools_fleet_report", False)).lower() == "true":
            self._wanted = True

    def v2_runner_on_start(self, host, task):
        entry = self._host(host.get_name())
        if entry["first"] is None:
            entry["first"] = time.time()

    def _record(self, result):
        entry = self._host(result._host.get_name())
        entry["last"] = time.time()
        if entry["first"] is None:
            entry["first"] = entry["last"]
        return entry

    def v2_runner_on_ok(self, result):
        entry = self._record(result)
        facts = result._result.get("ansible_facts") or {}
        described = facts_os(facts) if isinstance(facts, dict) else None
        if described:
            entry["os"] = described

    def _fail(self, result):
        """The host's last failure is the one its row names: the one that stopped it (one
        before it was rescued by a block)."""
        entry = self._record(result)
        entry.update(task=one_line(result._task.get_name()), reason=failure_reason(result._result))

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if ignore_errors:
            self._record(result)
        else:
            self._fail(result)

    def v2_runner_on_unreachable(self, result):
        self._fail(result)

    def v2_runner_on_skipped(self, result):
        self._record(result)

    def v2_playbook_on_stats(self, stats):
        if not self._wanted:
            return
        rows = []
        # In the order the hosts first showed up; one with no result at all last.
        for name in list(self._hosts) + sorted(set(stats.processed) - set(self._hosts)):
            entry = self._host(name)
            summary = stats.summarize(name)
            versions = (stats.custom.get(name) or {}).get("devtools_tool_versions") or {}
            status = (
                "unreachable"
                if summary["unreachable"]
                else "failed"
                if summary["failures"]
                else "ok"
            )
            seconds = (
                round(entry["last"] - entry["first"], 1) if entry["first"] is not None else None
            )
            rows.append(
                {
                    "host": name,
                    "status": status,
                    "os": entry["os"],
                    "changed": summary["changed"],
                    "versions": {str(k): one_line(v, 60) for k, v in versions.items()},
                    "seconds": seconds,
                    # A host whose failures were all rescued is ok: no reason to give.
                    "task": entry["task"] if status != "ok" else None,
                    "reason": entry["reason"] if status != "ok" else None,
                }
            )
        now = datetime.datetime.now()
        started = datetime.datetime.fromtimestamp(self._started)
        report = {
            "summary": summary_line(rows, time.time() - self._started),
            "started": started.isoformat(timespec="seconds"),
            "playbook": self._playbook,
            "hosts": rows,
        }
        directory = os.path.join(self.get_option("report_dir"), now.strftime("%Y-%m-%d-%H%M%S"))
        write_report(report, directory)
        self._display.display(f"Fleet report: {directory}/fleet-report.html ({report['summary']})")
