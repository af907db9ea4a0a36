# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A bounded HTTP load test against this machine: GET one URL on 127.0.0.1 from a few
threads, at most so many requests and so many seconds, and the requests per second and the
latency percentiles of what was sent.

Why our own code rather than a Go tool from the module proxy (hey, vegeta): those are
minutes of `go install` on two cores for a smoke-sized load, and one more binary to keep;
the numbers a developer's `make test-platform-load` needs (rate, p50/p90/p99, errors) are a
few lines over http.client, which keeps one connection per thread (keep-alive), as a load
tool does. It is no benchmark of the gateway's limits: Python's client tops out long before
a Go server does, and the result says how many requests per second it reached.
"""

from __future__ import annotations

import http.client
import ipaddress
import statistics
import threading
import time
import urllib.parse


class LoadError(Exception):
    """A URL this test will not load (not http, not this machine)."""


def localhost_as_loopback(url: str) -> urllib.parse.SplitResult:
    """The URL's parts, its host `localhost` (the seed's API_BASE) written 127.0.0.1, where
    the stack publishes its ports, without asking a resolver that /etc/hosts could point
    elsewhere."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname != "localhost":
        return parts
    userinfo, _, hostport = parts.netloc.rpartition("@")
    hostport = "127.0.0.1" + hostport[len("localhost") :]
    return parts._replace(netloc=f"{userinfo}@{hostport}" if userinfo else hostport)


def loopback_target(url: str) -> tuple[str, int, str]:
    """(host, port, path) of an http URL on a loopback address (127.0.0.1, ::1, localhost as
    127.0.0.1); anything else raises LoadError: a load test never leaves this machine."""
    parts = localhost_as_loopback(url)
    if parts.scheme != "http" or not parts.hostname:
        raise LoadError(
            f"{url!r} is not an http:// URL; give the gateway's, e.g. http://127.0.0.1:8080/health."
        )
    host = parts.hostname
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise LoadError(
            f"{url!r} is not on this machine's loopback address; the load test only sends to "
            "127.0.0.1 (or ::1): the stack's published ports."
        )
    path = parts.path or "/"
    return host, parts.port or 80, path + (f"?{parts.query}" if parts.query else "")


def percentile(sorted_values: list, fraction: float) -> float:
    """The value below which `fraction` of the sorted values lie (nearest rank)."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-len(sorted_values) * fraction // 1))  # ceil, at least the first
    return sorted_values[int(rank) - 1]


def run_load(
    url: str, requests: int, duration: float, concurrency: int, timeout: float = 5.0
) -> dict:
    """GET url until `requests` were sent or `duration` seconds passed, from `concurrency`
    threads; returns the figures (see the module's RETURN)."""
    host, port, path = loopback_target(url)
    lock = threading.Lock()
    state = {"sent": 0}
    latencies, errors, statuses = [], [], {}
    deadline = time.monotonic() + duration

    def take() -> bool:
        with lock:
            if state["sent"] >= requests or time.monotonic() >= deadline:
                return False
            state["sent"] += 1
            return True

    def worker():
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            while take():
                started = time.perf_counter()
                try:
                    conn.request("GET", path)
                    answer = conn.getresponse()
                    answer.read()
                    elapsed = time.perf_counter() - started
                    with lock:
                        latencies.append(elapsed)
                        statuses[answer.status] = statuses.get(answer.status, 0) + 1
                        if answer.status >= 400:
                            errors.append(f"HTTP {answer.status}")
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conn = http.client.HTTPConnection(host, port, timeout=timeout)
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(max(1, concurrency))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    ordered = sorted(latencies)
    ms = lambda seconds: round(seconds * 1000, 2)  # noqa: E731 - a one-line conversion
    return {
        "url": url,
        "requests": state["sent"],
        "answered": len(latencies),
        "errors": len(errors),
        "first_errors": sorted(set(errors))[:5],
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": round(elapsed, 3),
        "requests_per_second": round(state["sent"] / elapsed, 1) if elapsed > 0 else 0.0,
        "latency_ms": {
            "p50": ms(percentile(ordered, 0.50)),
            "p90": ms(percentile(ordered, 0.90)),
            "p99": ms(percentile(ordered, 0.99)),
            "max": ms(ordered[-1]) if ordered else 0.0,
            "mean": ms(statistics.fmean(ordered)) if ordered else 0.0,
        },
    }


def summary(result: dict) -> str:
    """One line: requests, rate, percentiles, errors."""
    lat = result["latency_ms"]
    return (
        f"{result['requests']} requests in {result['seconds']} s: {result['requests_per_second']} "
        f"requests/s; latency p50 {lat['p50']} ms, p90 {lat['p90']} ms, p99 {lat['p99']} ms, "
        f"max {lat['max']} ms; {result['errors']} errors"
    )
