# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The API smoke test of go-devtools' test-api.sh: GET /health, GET /api/v1, register a user,
log in as that user, and GET /api/v1/users/me with the token of the login; each check's
HTTP status and latency, and whether it passed.

Our own few lines over urllib rather than five ansible.builtin.uri tasks: uri's `elapsed`
is whole seconds (no latency of a local API), and the table of five rows with a token
carried from one request to the next is one loop here.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request

from ansible_collections.vhvcorp.devtools.plugins.module_utils._stack_status import stack_table
from ansible_collections.vhvcorp.devtools.plugins.module_utils.http_load import (
    LoadError,
    localhost_as_loopback,
    loopback_target,
)

COLUMNS = ("check", "status", "latency_ms", "result")


def check_base(api_base: str, allow_remote: bool) -> str:
    """The API base without a trailing slash; one off this machine's loopback address
    raises LoadError unless allow_remote (then any http or https URL)."""
    if not allow_remote:
        try:
            loopback_target(api_base)
        except LoadError as exc:
            raise LoadError(
                f"{exc} Pass -e test_api_allow_remote=true to test another API."
            ) from None
    elif not api_base.startswith(("http://", "https://")):
        raise LoadError(f"{api_base!r} is not an http:// or https:// URL.")
    return localhost_as_loopback(api_base).geturl().rstrip("/")


def _token(body) -> str:
    """The token of a login reply: `token` or `access_token`, at the top or under `data`."""
    for holder in (body, body.get("data") if isinstance(body, dict) else None):
        if isinstance(holder, dict):
            for key in ("token", "access_token"):
                if isinstance(holder.get(key), str) and holder[key]:
                    return holder[key]
    return ""


def _send(url: str, timeout: float, payload=None, token: str = ""):
    """(status or None, parsed JSON body or None, latency ms, error text)."""
    headers = {"Accept": "application/json"}
    data = None
    if payload is not None:
        data = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    # The base was checked (check_base): http or https, on 127.0.0.1 unless allowed.
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            status, raw = answer.status, answer.read()
        error = ""
    except urllib.error.HTTPError as exc:
        status, raw, error = exc.code, exc.read(), f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, None, round((time.perf_counter() - started) * 1000, 1), f"no answer: {reason}"
    latency = round((time.perf_counter() - started) * 1000, 1)
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    return status, body, latency, error


def run_checks(api_base: str, timeout: float = 10.0, tenant_id: str = "test-tenant") -> list:
    """The five checks against api_base, in order, each run whatever the others gave
    (users/me needs login's token: without one it is not sent). Each row: check, method,
    path, status ('-' when nothing answered), latency_ms, ok, detail. The user registered is
    new each run (a random e-mail address and password, neither of which is returned)."""
    email = f"devtools-test-{secrets.token_hex(6)}@example.com"
    password = secrets.token_urlsafe(18)
    credentials = {"email": email, "password": password}
    rows, token = [], ""
    steps = [
        ("health", "GET", "/health", None),
        ("api version", "GET", "/api/v1", None),
        ("register", "POST", "/api/v1/auth/register",
         {**credentials, "name": "Devtools Test", "tenant_id": tenant_id}),
        ("login", "POST", "/api/v1/auth/login", credentials),
        ("users/me", "GET", "/api/v1/users/me", None),
    ]  # fmt: skip
    for check, method, path, payload in steps:
        row = {"check": check, "method": method, "path": path}
        if check == "users/me" and not token:
            rows.append(dict(row, status="-", latency_ms=None, ok=False,
                             detail="not sent: the login gave no token"))  # fmt: skip
            continue
        status, body, latency, error = _send(
            api_base + path, timeout, payload, token if check == "users/me" else ""
        )
        ok = status is not None and 200 <= status < 300
        detail = error
        if check == "login" and ok:
            token = _token(body)
            if not token:
                ok, detail = False, "no token in the reply (token or access_token)"
        rows.append(dict(row, status=status if status is not None else "-",
                         latency_ms=latency, ok=ok, detail=detail))  # fmt: skip
    return rows


def report_table(rows: list) -> str:
    """The checks as one table: check (method and path), status, latency, ok/FAIL (why)."""
    return stack_table(
        [
            {
                "check": f"{r['check']} ({r['method']} {r['path']})",
                "status": str(r["status"]),
                "latency_ms": "-" if r["latency_ms"] is None else "%.1f" % r["latency_ms"],
                "result": "ok" if r["ok"] else "FAIL" + (f": {r['detail']}" if r["detail"] else ""),
            }
            for r in rows
        ],
        COLUMNS,
        right=("status", "latency_ms"),
    )
