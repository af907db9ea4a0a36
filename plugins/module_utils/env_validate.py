# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Check a workspace .env against its schema (validate-env.sh replacement).

``validate(text, schema)`` returns every problem at once, as data: ``errors`` and
``warnings`` (lists of {key, problem}) and ``unknown`` keys. Parsing, the schema and the
type checks are dotenv.py's; this adds the rules about known-bad values. No message ever
contains the value of a secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ansible_collections.vhvcorp.devtools.plugins.module_utils.dotenv import (
    MASK,
    Schema,
    check_value,
    parse,
)

# ENVIRONMENT values that mean a developer's own machine: defaults are tolerated there.
DEVELOPMENT = ("development", "dev", "local")
MIN_JWT_SECRET_BYTES = 32
# JWT secrets published in the architecture document and the old scripts' examples.
DEFAULT_JWT_SECRETS = (
    "change-this-in-production-very-important",
    "my-custom-secret",
    "your-secret-key",
    "your-secret-key-change-in-production",
    "secret",
    "changeme",
)
# Passwords of the document's .env example (guest, admin, smtp-password), its API examples
# (password123, secure123) and the usual suspects.
DEFAULT_PASSWORDS = (
    "guest",
    "admin",
    "changeme",
    "change-me",
    "password",
    "password123",
    "secure123",
    "smtp-password",
    "secret",
    "root",
    "123456",
)
_PASSWORD_NAME = re.compile(r"(PASSWORD|PASSWD|_PASS$|_PWD$)", re.I)
_URL_USERINFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^:/@\s]*):([^@\s]*)@")
# user:password@ anywhere in a value (even a malformed URL), unless it is a reference.
_URL_PASSWORD = re.compile(r"([^:/@\s]*:)(?!\$\{)[^@\s/]+@")
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)\}")


@dataclass
class Report:
    environment: str
    development: bool
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    unknown: list = field(default_factory=list)
    checked: int = 0

    def add(self, key: str, problem: str, severity: str = "error") -> None:
        (self.errors if severity == "error" else self.warnings).append(
            {"key": key, "problem": problem}
        )


def mask_url(value: str) -> str:
    """The value with the password of a URL's userinfo masked, unless it is a reference."""
    return _URL_PASSWORD.sub(r"\1" + MASK + "@", value)


def expand(value: str, values: dict) -> str:
    """``${KEY}`` references replaced by the file's values (unknown ones by nothing), as
    godotenv and Compose do."""
    return _REFERENCE.sub(lambda m: values.get(m.group(1), ""), value)


def _duplicates(document) -> dict:
    lines = {}
    number = 0
    for kind, item in document.items:
        number += 1
        if kind == "entry":
            lines.setdefault(item.key, []).append(number)
            number += item.raw.count("\n")
    return {key: where for key, where in lines.items() if len(where) > 1}


def validate(text: str, schema: Schema) -> Report:
    """Every problem of the .env ``text``. Raises dotenv.DotenvError when it cannot be
    parsed."""
    document = parse(text)
    values = document.values()
    variables = schema.variables
    environment = values.get("ENVIRONMENT", "") or "development"
    development = environment.strip().lower() in DEVELOPMENT
    report = Report(environment=environment, development=development, checked=len(values))
    # Outside development the rules about known values are errors; in development, warnings.
    strict = "warning" if development else "error"

    for key, where in _duplicates(document).items():
        report.add(
            key,
            "set %d times (lines %s); readers disagree on which wins, keep one."
            % (len(where), ", ".join(str(n) for n in where)),
        )

    for name, variable in variables.items():
        if name not in values:
            if variable.required:
                report.add(name, "missing; it is required (%s)" % variable.description.rstrip("."))
            continue
        value = values[name]
        if value == "":
            if variable.required:
                report.add(name, "empty; it is required (%s)" % variable.description.rstrip("."))
            continue
        problem = check_value(variable.type, expand(value, values))
        if problem:
            shown = "its value" if schema.is_secret(name) else repr(mask_url(value))
            report.add(name, "%s is not %s (type %s)" % (shown, problem, variable.type))

    for key in values:
        if key not in variables:
            report.unknown.append(key)

    _check_secrets(report, values, schema, strict)
    return report


def _check_secrets(report: Report, values: dict, schema: Schema, strict: str) -> None:
    where = "ENVIRONMENT is %r" % report.environment
    jwt = values.get("JWT_SECRET", "")
    if jwt:
        if jwt.strip().lower() in DEFAULT_JWT_SECRETS:
            report.add(
                "JWT_SECRET",
                "is the example secret published in the documentation (%s); anyone can sign "
                "tokens with it. Empty it and rerun the workspace role to generate one." % where,
                strict,
            )
        elif len(jwt.encode("utf-8")) < MIN_JWT_SECRET_BYTES:
            report.add(
                "JWT_SECRET",
                "is %d bytes, shorter than %d (%s); empty it and rerun the workspace role to "
                "generate a 64-byte one." % (len(jwt.encode("utf-8")), MIN_JWT_SECRET_BYTES, where),
                strict,
            )
    for key, value in values.items():
        if key == "JWT_SECRET":
            continue
        password = None
        if _PASSWORD_NAME.search(key) or (
            schema.is_secret(key) and not re.search(r"(TOKEN|API_?KEY)", key)
        ):
            password = value
        else:
            match = _URL_USERINFO.match(expand(value, values))
            if match and _REFERENCE.search(value) is None:
                password = match.group(2)
        if password and password.strip().lower() in DEFAULT_PASSWORDS:
            report.add(
                key,
                "%s a well-known default password (%s); set a real one, or empty it and rerun "
                "the workspace role to generate one."
                % ("is" if password == value else "has a URL with", where),
                strict,
            )


def summary(report: Report, path: str) -> str:
    """The failure message: every error, one after the other, values never shown."""
    return "%s has %d problem%s (%s): %s." % (
        path,
        len(report.errors),
        "" if len(report.errors) == 1 else "s",
        "ENVIRONMENT=%s" % report.environment,
        "; ".join("%s %s" % (p["key"], p["problem"]) for p in report.errors),
    )
