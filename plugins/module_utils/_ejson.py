# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Extended JSON in fixtures and migrations: wrappers ({"$oid": ...}) turned into BSON types
anywhere in a YAML or JSON tree, and the keys the servers refuse ('$' first)."""

from __future__ import annotations

import datetime

try:
    from bson import json_util

    # Dates come back timezone-aware (UTC), as YAML's do.
    JSON_OPTIONS = json_util.RELAXED_JSON_OPTIONS.with_options(
        tz_aware=True, tzinfo=datetime.timezone.utc
    )
except ImportError:  # pragma: no cover - the modules report a missing pymongo themselves
    json_util = JSON_OPTIONS = None


def ejson_hook(value):
    """Turn Extended JSON wrappers ({"$oid": ...}) into BSON types, anywhere in a YAML tree."""
    if isinstance(value, dict):
        converted = {k: ejson_hook(v) for k, v in value.items()}
        if any(isinstance(k, str) and k.startswith("$") for k in converted):
            return json_util.object_hook(converted, JSON_OPTIONS)
        return converted
    if isinstance(value, list):
        return [ejson_hook(v) for v in value]
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        # YAML `2024-01-15` is a date, which BSON cannot store: make it midnight UTC.
        return datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc)
    return value


def dollar_keys(value, path=""):
    """Paths of the keys that start with '$' (MongoDB and FerretDB refuse them)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            here = "%s.%s" % (path, key) if path else str(key)
            if str(key).startswith("$"):
                found.append(here)
            found.extend(dollar_keys(item, here))
    elif isinstance(value, list):
        for number, item in enumerate(value):
            found.extend(dollar_keys(item, "%s.%d" % (path, number)))
    return found
