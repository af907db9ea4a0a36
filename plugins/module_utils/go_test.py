# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run each service's Go tests (`go test ./...` in its clone) and report per service:
passed, failed or no clone, the seconds it took, and its packages' counts.

Why our own code: ansible.builtin.command in a loop stops at the first service whose
tests fail (or, ignoring errors, leaves the report to be pieced together from stdout);
go-devtools' run-unit-tests.sh ran every service and said which failed. Each service is
tested with the go.work the stack's go_build gives its build (env_with_workfile), so its
library resolves to the workspace's clone as when it is built.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

from ansible_collections.vhvcorp.devtools.plugins.module_utils._stack_status import stack_table
from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_build import env_with_workfile
from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_install import stderr_tail

# `go test`'s one line per package: "ok  <pkg> 0.01s", "FAIL <pkg> 0.02s" (or "[build
# failed]"), "?   <pkg> [no test files]".
_PACKAGE_LINE = re.compile(r"^(ok|FAIL|\?)\s+\S+", re.MULTILINE)
_COUNTS = {"ok": "passed", "FAIL": "failed", "?": "no_tests"}
# The seconds go gets after its own -timeout, to print which test hung, before it is killed.
_GRACE = 30


def package_counts(output: str) -> dict:
    """{passed, failed, no_tests}: how many packages `go test` reported each way."""
    counts = {"passed": 0, "failed": 0, "no_tests": 0}
    for match in _PACKAGE_LINE.finditer(output):
        counts[_COUNTS[match.group(1)]] += 1
    return counts


def test_one(go, suite, argv, env, timeout):
    """One service's `go test`: its result (see run_tests)."""
    result = {"name": suite["name"], "chdir": suite["chdir"]}
    if not os.path.isfile(os.path.join(suite["chdir"], "go.mod")):
        return dict(result, state="no clone", seconds=None, packages=package_counts(""))
    _, env, _ = env_with_workfile(suite, env)
    started = time.monotonic()
    try:
        done = subprocess.run(
            [go, "test", "-timeout=%ds" % timeout, *argv],
            cwd=suite["chdir"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout + _GRACE,
        )
        output, failed = done.stdout + done.stderr, done.returncode != 0
        why = "`go test` exited %d" % done.returncode
    except subprocess.TimeoutExpired as exc:
        # What go printed before it was stopped (bytes or text, as the platform gives it).
        raw = exc.stdout or ""
        output = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
        failed, why = True, "`go test` was stopped after %ds" % (timeout + _GRACE)
    result.update(
        state="failed" if failed else "passed",
        seconds=round(time.monotonic() - started, 1),
        packages=package_counts(output),
    )
    if failed:
        gowork = "GOWORK=%s " % env["GOWORK"] if "GOWORK" in env else ""
        result["msg"] = "%s in %s (%sgo test %s):\n%s" % (
            why,
            suite["chdir"],
            gowork,
            " ".join(argv),
            stderr_tail(output),
        )
    return result


def run_tests(go, suites, packages=("./...",), tags=(), flags=(), environment=None, timeout=600):
    """`go test [flags] [-tags=...] packages` in each suite's chdir ({name, chdir, and
    optionally workfile and replace as go_build's builds}), one after another (go test runs
    a module's packages in parallel already). One result each: name, chdir, state (passed,
    failed, no clone: no go.mod there), seconds (null without a clone), packages ({passed,
    failed, no_tests}) and, when failed, msg (what ran, where, and go's last lines)."""
    env = dict(os.environ)
    env.update({str(k): str(v) for k, v in (environment or {}).items()})
    argv = [*flags, *(["-tags=" + ",".join(tags)] if tags else []), *packages]
    return [test_one(go, suite, argv, env, timeout) for suite in suites]


def report_table(results):
    """The results as one table: service, state, seconds, packages passed/failed."""
    rows = []
    for r in results:
        counts = r["packages"]
        rows.append(
            {
                "service": r["name"],
                "state": r["state"],
                "seconds": "-" if r["seconds"] is None else "%.1f" % r["seconds"],
                "packages": "-"
                if r["seconds"] is None
                else "%(passed)d ok, %(failed)d failed, %(no_tests)d without tests" % counts,
            }
        )
    return stack_table(rows, ("service", "state", "seconds", "packages"), right=("seconds",))
