# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""HS256 JSON Web Tokens (RFC 7519, signed as in RFC 7515), and Go durations.

Used by the jwt_token module (the generate-jwt.sh replacement).

Why not PyJWT: it is not in requirements.txt, it would have to be on every managed host,
and HS256 is an HMAC-SHA256 over two base64url strings - the few lines below, checked
against the RFC 7515 appendix A.1 vector by the unit tests. Only HS256 is implemented:
it is what the platform's auth service signs with (JWT_ALGORITHM=HS256).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time

ALGORITHM = "HS256"
# Claims the module sets itself; `claims` may not replace them.
RESERVED = ("user_id", "tenant_id", "email", "roles", "iss", "iat", "exp")

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


class TokenError(ValueError):
    """Bad input or a token that does not verify; the message says how to fix it and never
    contains the secret."""


def parse_duration(text: str) -> float:
    """Seconds of a Go duration (time.ParseDuration): ``24h``, ``1h30m``, ``90s``, ``1.5h``,
    ``300ms``. A sign is refused: a token's lifetime is positive."""
    value = str(text).strip()
    if value == "" or value[0] in "+-":
        raise TokenError(
            "expiry %r is not a positive Go duration; use one such as 24h, 90m or 1h30m." % text
        )
    position = 0
    total = 0.0
    for match in _DURATION_PART.finditer(value):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(value) or position == 0:
        raise TokenError(
            "expiry %r is not a Go duration; use a number and a unit (ns, us, ms, s, m, h), "
            "such as 24h, 90m or 1h30m." % text
        )
    if total <= 0:
        raise TokenError("expiry %r is zero; give a lifetime such as 24h." % text)
    return total


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.urlsafe_b64decode(padded.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise TokenError("the token has a part that is not base64url.") from exc


def _json(value: dict) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(signing_input: bytes, secret: bytes) -> str:
    return b64url(hmac.new(secret, signing_input, hashlib.sha256).digest())


def encode(payload: dict, secret, header: dict | None = None) -> str:
    """An HS256 JWS compact serialization of ``payload``."""
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if not key:
        raise TokenError("the signing secret is empty; set JWT_SECRET in the .env.")
    head = {"alg": ALGORITHM, "typ": "JWT"} if header is None else header
    signing_input = ("%s.%s" % (b64url(_json(head)), b64url(_json(payload)))).encode("ascii")
    return "%s.%s" % (signing_input.decode("ascii"), sign(signing_input, key))


def decode(token: str, secret, now: float | None = None, verify_exp: bool = True) -> dict:
    """The payload of an HS256 token, after checking its signature (and its expiry)."""
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    parts = str(token).split(".")
    if len(parts) != 3:
        raise TokenError("a JWT has three dot-separated parts; this one has %d." % len(parts))
    try:
        header = json.loads(b64url_decode(parts[0]))
        payload = json.loads(b64url_decode(parts[1]))
    except ValueError as exc:
        raise TokenError("the token's header or payload is not JSON.") from exc
    if header.get("alg") != ALGORITHM:
        raise TokenError("the token is signed with %r, not HS256." % header.get("alg"))
    expected = sign(("%s.%s" % (parts[0], parts[1])).encode("ascii"), key)
    if not hmac.compare_digest(expected, parts[2]):
        raise TokenError("the token's signature does not match the secret.")
    expired = "exp" in payload and (time.time() if now is None else now) >= payload["exp"]
    if verify_exp and expired:
        raise TokenError("the token expired at %s." % payload["exp"])
    return payload


def build_claims(
    user_id: str,
    tenant_id: str,
    roles: list,
    issuer: str,
    lifetime_s: float,
    email: str | None = None,
    extra: dict | None = None,
    now: float | None = None,
) -> dict:
    """The platform's access-token claims, in the order its auth service writes them."""
    clashes = sorted(set(extra or {}) & set(RESERVED))
    if clashes:
        raise TokenError(
            "claims sets %s, which the module sets itself; use the option of the same "
            "name (issuer for iss, expiry for exp)." % ", ".join(clashes)
        )
    issued = int(time.time() if now is None else now)
    claims = {"user_id": str(user_id), "tenant_id": str(tenant_id)}
    if email:
        claims["email"] = str(email)
    claims["roles"] = [str(role) for role in roles]
    claims["iss"] = str(issuer)
    claims["iat"] = issued
    claims["exp"] = issued + int(lifetime_s)
    claims.update(extra or {})
    return claims
