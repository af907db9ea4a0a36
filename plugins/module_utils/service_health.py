# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Wait for many endpoints at once: HTTP, TCP and gRPC health (grpc.health.v1).

Used by the service_health module (the wait-for-services.sh and check-health.sh
replacement). ``wait(endpoints, deadline_s)`` probes every endpoint in its own thread until
it is healthy or the shared deadline passes, and returns as soon as all are healthy.

Why not ansible.builtin.uri / wait_for in a loop: they wait for one endpoint after the
other, so N slow services cost N deadlines, and a failure names only the first. HTTP goes
through urllib, one opener per endpoint (see _HttpProber). gRPC uses
``grpcio`` when the host has it (a raw unary call, the request and answer encoded here: one
string and one enum field, so no generated protobuf code is needed); without it a gRPC
endpoint is checked as TCP and its result says so.
"""

from __future__ import annotations

import base64
import re
import socket
import ssl
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlsplit, urlunsplit

try:
    import grpc as _grpc
except ImportError:  # grpcio is optional: gRPC endpoints fall back to TCP
    _grpc = None

KINDS = ("http", "tcp", "grpc")
MASK = "********"
BODY_LIMIT = 65536
GRPC_METHOD = "/grpc.health.v1.Health/Check"
GRPC_STATUSES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
GRPC_FALLBACK_NOTE = (
    "grpcio is not installed on this host, so only the TCP port was checked; install "
    "grpcio for the grpc.health.v1 check."
)


class EndpointError(ValueError):
    """An endpoint is described wrongly; the message names it and says how to fix it."""


def redact_url(url: str) -> str:
    """The URL with the password of its userinfo masked (user:pass@ -> user:********@)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc="%s:%s@%s" % (parts.username, MASK, host)))


def url_password(url: str):
    try:
        return urlsplit(url).password
    except ValueError:
        return None


@dataclass
class Endpoint:
    name: str
    kind: str
    url: str | None = None
    host: str = "127.0.0.1"
    port: int | None = None
    status_codes: list = field(default_factory=lambda: [200])
    body_regex: str | None = None
    body_contains: str | None = None
    grpc_service: str = ""
    timeout: float = 2.0
    interval: float = 0.25
    validate_certs: bool = True
    _pattern: object = None

    @property
    def target(self) -> str:
        if self.kind == "http":
            return redact_url(self.url)
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s:%s" % (host, self.port)


@dataclass
class Result:
    name: str
    kind: str
    target: str
    healthy: bool = False
    status: object = None
    latency_ms: float | None = None
    attempts: int = 0
    last_error: str | None = None
    healthy_after_s: float | None = None
    note: str | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def make_endpoints(specs: list, timeout: float = 2.0, interval: float = 0.25) -> list:
    """Endpoints from the module's option (a list of dicts), checked; module-level timeout
    and interval apply where an entry sets none."""
    endpoints = []
    names = set()
    for index, spec in enumerate(specs):
        name = spec.get("name")
        where = "endpoints[%d] (%s)" % (index, name)
        if not name:
            raise EndpointError("endpoints[%d] has no name; give each endpoint one." % index)
        if name in names:
            raise EndpointError(
                "%s: the name %r is used twice; names must be unique." % (where, name)
            )
        names.add(name)
        kind = spec.get("kind") or "http"
        if kind not in KINDS:
            raise EndpointError("%s: kind %r is not one of %s." % (where, kind, ", ".join(KINDS)))
        values = {
            k: v for k, v in spec.items() if v is not None and k in Endpoint.__dataclass_fields__
        }
        values.setdefault("timeout", timeout)
        values.setdefault("interval", interval)
        values["kind"] = kind
        endpoint = Endpoint(**values)
        if endpoint.timeout <= 0 or endpoint.interval <= 0:
            raise EndpointError(
                "%s: timeout %r and interval %r must be more than 0 seconds."
                % (where, endpoint.timeout, endpoint.interval)
            )
        if kind == "http":
            if not endpoint.url or not re.match(r"^https?://", endpoint.url):
                raise EndpointError(
                    "%s: url %r is not an http:// or https:// URL; an http endpoint needs "
                    "one, such as http://127.0.0.1:8081/health."
                    % (where, redact_url(endpoint.url or ""))
                )
            for code in endpoint.status_codes:
                if not 100 <= int(code) <= 599:
                    raise EndpointError("%s: status code %r is not an HTTP status." % (where, code))
            if endpoint.body_regex:
                try:
                    endpoint._pattern = re.compile(endpoint.body_regex)
                except re.error as exc:
                    raise EndpointError(
                        "%s: body_regex %r is not a regular expression (%s)."
                        % (where, endpoint.body_regex, exc)
                    ) from exc
        else:
            if endpoint.url:
                raise EndpointError(
                    "%s: a %s endpoint takes host and port, not url." % (where, kind)
                )
            if endpoint.port is None or not 1 <= int(endpoint.port) <= 65535:
                raise EndpointError(
                    "%s: port %r is not a port from 1 to 65535; a %s endpoint needs one."
                    % (where, endpoint.port, kind)
                )
        endpoints.append(endpoint)
    return endpoints


def _ms(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 1)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, URLError) and not isinstance(exc, HTTPError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text


class _HttpProber:
    """One urllib opener per endpoint, reused across its probes.

    Not Ansible's open_url: it builds a fresh SSL context on every call (about 0.1 s of CPU,
    even for http://), which at a 0.25 s interval over a dozen endpoints would keep a small
    machine busy and blur the latencies. Proxies are off: health endpoints are local. A
    user:password@ in the URL becomes a Basic Authorization header.
    """

    def __init__(self, endpoint: Endpoint):
        parts = urlsplit(endpoint.url)
        handlers = [urllib.request.ProxyHandler({})]
        if parts.scheme == "https":
            context = ssl.create_default_context()
            if not endpoint.validate_certs:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self.opener = urllib.request.build_opener(*handlers)
        self.headers = {"User-Agent": "vhvcorp.devtools.service_health"}
        self.url = endpoint.url
        if parts.username is not None:
            host = parts.netloc.rsplit("@", 1)[1]
            self.url = urlunsplit(parts._replace(netloc=host))
            pair = "%s:%s" % (unquote(parts.username), unquote(parts.password or ""))
            self.headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()

    def __call__(self, endpoint: Endpoint, timeout: float):
        return probe_http(endpoint, timeout, self)


def probe_http(endpoint: Endpoint, timeout: float, prober: _HttpProber | None = None):
    """(healthy, status, error) of one GET."""
    prober = prober or _HttpProber(endpoint)
    status = None
    try:
        request = urllib.request.Request(prober.url, headers=prober.headers)  # noqa: S310 - http(s) only, checked in make_endpoints
        with prober.opener.open(request, timeout=timeout) as response:
            status = response.status
            body = response.read(BODY_LIMIT)
    except HTTPError as exc:
        status = exc.code
        try:
            body = exc.read(BODY_LIMIT)
        except Exception:  # noqa: BLE001 - the body of an error answer is a nice-to-have
            body = b""
        finally:
            exc.close()
    except Exception as exc:  # noqa: BLE001 - every failure is a result, never a crash
        return False, None, _error_text(exc)
    if status not in [int(c) for c in endpoint.status_codes]:
        return (
            False,
            status,
            "HTTP %s, expected %s"
            % (
                status,
                " or ".join(str(c) for c in endpoint.status_codes),
            ),
        )
    text = body.decode("utf-8", errors="replace")
    excerpt = text[:80].replace("\n", " ")
    if endpoint._pattern is not None and not endpoint._pattern.search(text):
        return (
            False,
            status,
            "HTTP %s but the body %r does not match /%s/"
            % (
                status,
                excerpt,
                endpoint.body_regex,
            ),
        )
    if endpoint.body_contains and endpoint.body_contains not in text:
        return (
            False,
            status,
            "HTTP %s but the body %r does not contain %r"
            % (
                status,
                excerpt,
                endpoint.body_contains,
            ),
        )
    return True, status, None


def probe_tcp(endpoint: Endpoint, timeout: float):
    try:
        socket.create_connection((endpoint.host, int(endpoint.port)), timeout=timeout).close()
    except OSError as exc:
        return False, None, _error_text(exc)
    return True, "open", None


def grpc_request(service: str) -> bytes:
    """A serialized grpc.health.v1.HealthCheckRequest: field 1 (service), a string."""
    data = service.encode("utf-8")
    if not data:
        return b""
    return b"\x0a" + _varint(len(data)) + data


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        if number:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def grpc_status(message: bytes) -> str:
    """The status of a serialized HealthCheckResponse (field 1, an enum; absent is 0)."""
    position = 0
    status = 0
    while position < len(message):
        tag, position = _read_varint(message, position)
        wire = tag & 7
        if wire == 0:
            value, position = _read_varint(message, position)
            if tag >> 3 == 1:
                status = value
        elif wire == 2:
            length, position = _read_varint(message, position)
            position += length
        elif wire == 5:
            position += 4
        elif wire == 1:
            position += 8
        else:
            raise ValueError("not a HealthCheckResponse")
    return GRPC_STATUSES.get(status, str(status))


def _read_varint(data: bytes, position: int):
    result = shift = 0
    while True:
        if position >= len(data):
            raise ValueError("truncated varint")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, position


class _GrpcProber:
    """One channel per endpoint, reused across its probes."""

    def __init__(self, endpoint: Endpoint):
        self.channel = _grpc.insecure_channel(endpoint.target)
        self.call = self.channel.unary_unary(GRPC_METHOD)
        self.request = grpc_request(endpoint.grpc_service)

    def __call__(self, endpoint: Endpoint, timeout: float):
        try:
            answer = self.call(self.request, timeout=timeout)
        except _grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            details = exc.details() if hasattr(exc, "details") else str(exc)
            name = code.name if code is not None else "ERROR"
            if name == "UNIMPLEMENTED":
                details = "the server has no grpc.health.v1 Health service"
            return False, name, "gRPC %s: %s" % (name, details)
        try:
            status = grpc_status(answer)
        except ValueError:
            return False, None, "the answer is not a grpc.health.v1 HealthCheckResponse"
        if status != "SERVING":
            return False, status, "gRPC health status %s" % status
        return True, status, None

    def close(self):
        self.channel.close()


def _watch(endpoint: Endpoint, result: Result, start: float, deadline: float, once: bool):
    prober = probe_tcp
    closer = None
    if endpoint.kind == "http":
        prober = _HttpProber(endpoint)
    elif endpoint.kind == "grpc":
        if _grpc is None:
            result.note = GRPC_FALLBACK_NOTE
        else:
            prober = _GrpcProber(endpoint)
            closer = prober.close
    try:
        while True:
            now = time.monotonic()
            timeout = endpoint.timeout if once else min(endpoint.timeout, deadline - now)
            probe_start = time.monotonic()
            healthy, status, error = prober(endpoint, max(timeout, 0.05))
            result.latency_ms = _ms(probe_start)
            result.attempts += 1
            result.status = status
            result.last_error = error
            if healthy:
                result.healthy = True
                result.healthy_after_s = round(time.monotonic() - start, 3)
                return
            if once:
                return
            pause = min(endpoint.interval, deadline - time.monotonic())
            if pause <= 0:
                return
            time.sleep(pause)
    finally:
        if closer is not None:
            closer()


def wait(endpoints: list, deadline_s: float, once: bool = False) -> dict:
    """Probe every endpoint in its own thread until all are healthy or ``deadline_s``
    passes (``once``: probe each one time). Returns {results, healthy, unhealthy,
    elapsed_s}; ``results`` keeps the order of ``endpoints``."""
    start = time.monotonic()
    deadline = start + deadline_s
    results = [Result(e.name, e.kind, e.target) for e in endpoints]
    threads = []
    for index, endpoint in enumerate(endpoints):
        result = results[index]
        thread = threading.Thread(
            target=_watch,
            args=(endpoint, result, start, deadline, once),
            name="health-%s" % endpoint.name,
            daemon=True,
        )
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    unhealthy = [r.name for r in results if not r.healthy]
    return dict(
        results=[r.as_dict() for r in results],
        healthy=not unhealthy,
        unhealthy=unhealthy,
        elapsed_s=round(time.monotonic() - start, 3),
    )


# The longest error a table row shows; the failure message carries the whole of it.
ROW_ERROR_LIMIT = 48


def table_rows(results: list) -> list:
    """The per-endpoint results as the text of a table, one dict per endpoint: endpoint,
    state ("healthy", or "unhealthy: " and the last error), latency of the last probe
    ("3.2 ms") and healthy_after (seconds after the check started, "1.02 s"); "-" where
    there is no figure. The stack role prints them with the stack_table filter."""
    rows = []
    for r in results:
        if r["healthy"]:
            state = "healthy" if r.get("note") is None else "healthy (TCP only: no grpcio)"
        else:
            error = r.get("last_error") or "no answer"
            if len(error) > ROW_ERROR_LIMIT:
                error = error[: ROW_ERROR_LIMIT - 3] + "..."
            state = "unhealthy: " + error
        latency, after = r.get("latency_ms"), r.get("healthy_after_s")
        rows.append(
            {
                "endpoint": r["name"],
                "state": state,
                "latency": "-" if latency is None else "%.1f ms" % latency,
                "healthy_after": "-" if after is None else "%.2f s" % after,
            }
        )
    return rows


def failure_message(outcome: dict, deadline_s: float, once: bool = False) -> str:
    """Which endpoints are unhealthy and why, in one sentence per endpoint."""
    bad = [r for r in outcome["results"] if not r["healthy"]]
    when = "at the first probe" if once else "after %gs (deadline)" % deadline_s
    parts = [
        "%s (%s %s: %s)" % (r["name"], r["kind"], r["target"], r["last_error"] or "no answer")
        for r in bad
    ]
    return "%d of %d endpoints not healthy %s: %s." % (
        len(bad),
        len(outcome["results"]),
        when,
        "; ".join(parts),
    )
