# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Each service on its own: which services run when some cannot be cloned or compiled, when
the demo service stands in for them all, and the one table that says so at the end.

Real repositories are often broken at their head (DESIGN.md): setup and start bring up the
infrastructure and every service that builds, leave the others out of the compose project,
and end with a table of every service (its state and the first lines of its reason) and a
failure when one did not come up. The stack role feeds these functions what its modules
returned (git_repositories' repositories, go_build's results and missing, service_health's
results); written in Python so pytest reaches the rules (tests/unit/test_service_outcomes.py).
"""

from __future__ import annotations

from ansible_collections.vhvcorp.devtools.plugins.module_utils._catalog import fail

# devtools_service_source: where the services are built from.
SERVICE_SOURCES = ("auto", "demo", "git")
# States of a service in the table; the first three are failures.
NOT_CLONED, BUILD_FAILED, UNHEALTHY = "not cloned", "build failed", "unhealthy"
HEALTHY, RUNNING, DEMO = "healthy", "running", "demo"
FAILED_STATES = (NOT_CLONED, BUILD_FAILED, UNHEALTHY)
# How many lines of a reason the table shows (the compiler's first errors; the clone's).
REASON_LINES = 3
DEMO_REASON = "the demo service stands in: no service repository could be cloned"


def use_demo(source: str, strict: bool, selected, missing) -> bool:
    """Whether the demo service stands in for every selected service.

    source: devtools_service_source. demo: always; git: never; auto: only when not one of
    the selected services has a clone (a Go module) in the workspace after the clone step
    (``missing``: go_build's), and never with strict (a strict run fails instead).
    """
    if source not in SERVICE_SOURCES:
        fail(f"devtools_service_source is {source!r}; choose one of {', '.join(SERVICE_SOURCES)}.")
    if source == "demo":
        return True
    if source == "git" or strict:
        return False
    selected = list(selected or [])
    return bool(selected) and set(selected) <= set(missing or [])


def _first_lines(text: str) -> str:
    lines = [line.rstrip() for line in str(text or "").splitlines() if line.strip()]
    return "\n".join(lines[:REASON_LINES])


def service_outcomes(
    services, builds=None, clones=None, demo: bool = False, generated=None
) -> dict:
    """What became of each service before Compose starts anything.

    services: the catalog's service containers (name, repository, build.source_dir).
    builds: go_build's result (results, each named after its service or "<service> <probe>",
    with an error when it failed; missing), or None where nothing is built (registry
    images). clones: git_repositories' repositories (name is the repository), or None when
    no clone step ran (start.yml). demo: the demo service was built for every service.
    generated: go_generate's result (results, each {name, status, error}), or None; a
    service whose generation failed was not built, and is "build failed" with its error.

    Returns {rows: [{service, state, reason}], running: [names], failed: [names]}: a service
    without a Go module is "not cloned" (the clone's error when the clone step failed), one
    whose build (or its health probe's) failed is "build failed" (the compiler's first
    lines); the others run, as "running" or "demo".
    """
    builds = builds or {}
    missing = set(builds.get("missing") or [])
    errors = {r["name"]: r["error"] for r in builds.get("results") or [] if r.get("error")}
    errors.update(
        {
            r["name"]: r.get("error") or "code generation failed"
            for r in (generated or {}).get("results") or []
            if r.get("status") == "failed"
        }
    )
    clone_by_repository = {c["name"]: c for c in clones or []}
    rows = []
    for svc in services:
        name = svc["name"]
        clone = clone_by_repository.get(svc.get("repository") or name)
        build_error = next(
            (e for n, e in errors.items() if n == name or n.startswith(name + " ")), None
        )
        if name in missing:
            if clone and clone.get("status") == "failed":
                reason = clone.get("msg") or "the clone failed"
            else:
                source_dir = (svc.get("build") or {}).get("source_dir", "the workspace")
                reason = (
                    f"no Go module (go.mod) in {source_dir}: clone it "
                    "(ansible-playbook setup.yml --tags repos)"
                )
            rows.append({"service": name, "state": NOT_CLONED, "reason": _first_lines(reason)})
        elif build_error is not None:
            rows.append(
                {"service": name, "state": BUILD_FAILED, "reason": _first_lines(build_error)}
            )
        else:
            rows.append(
                {
                    "service": name,
                    "state": DEMO if demo else RUNNING,
                    "reason": DEMO_REASON if demo else "",
                }
            )
    return {
        "rows": rows,
        "running": [r["service"] for r in rows if r["state"] in (RUNNING, DEMO)],
        "failed": [r["service"] for r in rows if r["state"] in FAILED_STATES],
    }


def service_report(outcomes: dict, health=None, status_rows=None) -> list:
    """The rows of the final table: each service's outcome with its health.

    health: service_health's results (endpoints named "<service>" and "<service> grpc"): a
    running service is healthy when all of its endpoints are, unhealthy (with the first
    failing endpoint's error) when one is not, and stays "running" when none was probed.
    Without them (start.yml, where `up --wait` has waited for the health checks), a running
    service is healthy unless ``status_rows`` (stack_status_rows of `docker compose ps`,
    listed when `up` failed) show its container not healthy. A demo service stays "demo"
    while healthy.
    """
    status = {r["service"]: r for r in status_rows or []}
    rows = []
    for row in outcomes["rows"]:
        row = dict(row)
        name = row["service"]
        if row["state"] not in (RUNNING, DEMO):
            rows.append(row)
            continue
        if health is not None:
            mine = [r for r in health if r["name"] == name or r["name"].startswith(name + " ")]
            bad = [
                f"{r['name']}: {r.get('last_error') or 'no answer'}"
                for r in mine
                if not r["healthy"]
            ]
        else:
            mine, bad = [row], []
            container = status.get(name)
            logs = f"see `ansible-playbook logs.yml -e service={name}`"
            if status_rows is not None and container is None:
                bad = [f"no container; {logs}"]
            elif status_rows is not None and container["health"] != "healthy":
                bad = [f"container {container['state']}, health {container['health']}; {logs}"]
        if bad:
            row.update(state=UNHEALTHY, reason=_first_lines(bad[0]))
        elif mine and row["state"] == RUNNING:
            row["state"] = HEALTHY
        rows.append(row)
    return rows


def report_table_rows(rows: list) -> list:
    """The report's rows for stack_table (_stack_status), a reason of several lines spread
    over rows of its own under the REASON column."""
    lines = []
    for row in rows:
        reason = str(row.get("reason") or "").splitlines() or [""]
        lines.append({"service": row["service"], "state": row["state"], "reason": reason[0]})
        lines.extend({"service": "", "state": "", "reason": more} for more in reason[1:])
    return lines


def report_failure(rows: list) -> str:
    """The failure message when a service did not come up, or "" when every one did."""
    bad = [r for r in rows if r["state"] in FAILED_STATES]
    if not bad:
        return ""
    names = ", ".join(f"{r['service']} ({r['state']})" for r in bad)
    return (
        f"{len(bad)} of {len(rows)} services did not come up: {names}; the others and the "
        "infrastructure run. The table above says why. Fix them (a clone: its URL and your "
        "access; a build: the compiler's error) and run again: what runs already is left "
        "alone. `-e strict=true` stops at the first failure instead."
    )
