# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The stack's status as a person reads it: rows from `docker compose ps`, a fixed-width
table, and the containers that are not healthy."""

from __future__ import annotations

import json


def stack_status_rows(containers) -> list:
    """Rows (service, state, health, ports) from `docker compose ps --format json`.

    Takes its output (a JSON array, or one JSON object per line as newer Compose prints)
    or the parsed entries.
    """
    if isinstance(containers, str):
        text = containers.strip()
        if text.startswith("["):
            containers = json.loads(text)
        else:
            containers = [json.loads(line) for line in text.splitlines() if line.strip()]
    rows = []
    for c in containers or []:
        ports = []
        for p in c.get("Publishers") or []:
            if p.get("PublishedPort"):
                ports.append(
                    f"{p.get('URL') or '*'}:{p['PublishedPort']}"
                    f"->{p['TargetPort']}/{p.get('Protocol', 'tcp')}"
                )
        rows.append(
            {
                "service": c.get("Service", ""),
                "state": c.get("State", ""),
                "health": c.get("Health") or "-",
                "ports": ", ".join(sorted(set(ports))) or "-",
            }
        )
    return sorted(rows, key=lambda r: r["service"])


def stack_table(rows: list, columns=("service", "state", "health", "ports"), right=()) -> str:
    """A fixed-width table for a debug message: a header of the column names (upper case,
    `_` as a space), then one line per row; the columns named in `right` (figures) are
    aligned to the right.

    One string of lines joined by newlines, not a list of lines: Ansible's YAML result
    format prints a multi-line string as a literal block, exactly as it is, but folds list
    items longer than 80 columns and quotes those holding ": ", which breaks the columns.
    """

    def cell(text: str, column: str) -> str:
        return text.rjust(widths[column]) if column in right else text.ljust(widths[column])

    widths = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns}
    lines = ["  ".join(cell(c.upper().replace("_", " "), c) for c in columns).rstrip()]
    for r in rows:
        lines.append("  ".join(cell(str(r.get(c, "")), c) for c in columns).rstrip())
    return "\n".join(lines)


def stack_unhealthy(rows: list) -> list:
    """Names, with state and health, of the status rows that are not healthy."""
    return [
        f"{r['service']} ({r['state']}, {r['health']})"
        for r in rows or []
        if r.get("health") != "healthy"
    ]
