# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures: reading a fixtures directory, upserting it by ``_id``, declaring indexes.

A fixtures directory holds, per collection:

- ``<collection>.json``: a JSON array of documents in MongoDB Extended JSON (canonical or
  relaxed: ``{"$oid": ...}``, ``{"$date": ...}``, ...), read with ``bson.json_util``;
- or ``<collection>.yml`` / ``<collection>.yaml``: a YAML list of documents. YAML dates are
  dates, and the Extended JSON wrappers work in YAML too (``_id: {$oid: ...}``);
- ``<collection>.indexes.yml``: a YAML list of the collection's indexes, each
  ``{keys: {field: 1|-1, ...}, unique: bool, sparse: bool, name: str,
  expire_after_seconds: int}`` (only ``keys`` is required).

Every document needs a fixed ``_id``: seeding replaces the document with that ``_id`` when
it differs and leaves it alone when it is equal, so a rerun changes nothing. Documents in
the database that are not in the fixtures are never touched.

Also used by mongodb_reset (drop, then seed) and mongodb_migrate (index specs, documents).
"""

from __future__ import annotations

import datetime
import json
import math
import os
import re

from ansible_collections.vhvcorp.devtools.plugins.module_utils._ejson import dollar_keys, ejson_hook
from ansible_collections.vhvcorp.devtools.plugins.module_utils._errors import (
    COLLECTION_NAME,
    FixtureError,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._indexes import (
    ensure_indexes,
    index_name,
    parse_index,
)

try:
    import yaml
except ImportError:  # pragma: no cover - the modules report a missing PyYAML themselves
    yaml = None

try:
    import bson
    from bson import json_util
    from bson.codec_options import CodecOptions
    from pymongo.errors import BulkWriteError, PyMongoError

    # Dates come back timezone-aware (UTC), as YAML's do.
    JSON_OPTIONS = json_util.RELAXED_JSON_OPTIONS.with_options(
        tz_aware=True, tzinfo=datetime.timezone.utc
    )
except ImportError:  # pragma: no cover - the modules report a missing pymongo themselves
    bson = json_util = CodecOptions = JSON_OPTIONS = None
    BulkWriteError = PyMongoError = Exception

DATA_SUFFIXES = (".json", ".yml", ".yaml")
INDEX_SUFFIXES = (".indexes.yml", ".indexes.yaml")
# --- reading --------------------------------------------------------------------------------


def collection_of(path):
    """The collection a fixture or index file is for, from its file name."""
    base = os.path.basename(path)
    for suffix in INDEX_SUFFIXES + DATA_SUFFIXES:
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return None


def check_collection_name(name, where):
    if not COLLECTION_NAME.match(name or ""):
        raise FixtureError(
            "%s: %r is not a collection name this tool writes; name the file after the "
            "collection using letters, digits, '_' and '-' only (no dots: FerretDB refuses "
            "them, and system.* is reserved)." % (where, name)
        )


def read_documents(path):
    """The documents of one fixture file (.json Extended JSON or .yml/.yaml), validated."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        if path.endswith(".json"):
            data = json_util.loads(text, json_options=JSON_OPTIONS)
        else:
            data = ejson_hook(yaml.safe_load(text))
    except (ValueError, TypeError, yaml.YAMLError, bson.errors.BSONError) as exc:
        raise FixtureError(
            "%s is not valid %s (%s); fix the file so it holds a list of documents."
            % (path, "Extended JSON" if path.endswith(".json") else "YAML", _oneline(exc))
        ) from exc
    if data is None:
        return []
    if not isinstance(data, list):
        raise FixtureError(
            "%s holds a %s, not a list of documents; make the top level a list "
            "(a JSON array, or YAML items starting with '- ')." % (path, type(data).__name__)
        )
    seen = {}
    for number, doc in enumerate(data, start=1):
        where = "%s document #%d" % (path, number)
        if not isinstance(doc, dict):
            raise FixtureError(
                "%s is a %s, not a document (mapping)." % (where, type(doc).__name__)
            )
        if "_id" not in doc:
            raise FixtureError(
                "%s has no _id; give every fixture document a fixed _id so a rerun updates "
                "it instead of inserting a copy." % where
            )
        bad = dollar_keys(doc)
        if bad:
            raise FixtureError(
                "%s has the field %r, which starts with '$'; MongoDB cannot store it. If it is "
                "meant as Extended JSON, check the spelling ($oid, $date, $numberLong, ...)."
                % (where, bad[0])
            )
        key = _canonical(doc["_id"])
        if key in seen:
            raise FixtureError(
                "%s repeats _id %s of document #%d; give each document its own _id."
                % (where, _show_id(doc["_id"]), seen[key])
            )
        seen[key] = number
    return data


def read_indexes(path):
    """The index declarations of one ``<collection>.indexes.yml``, validated."""
    with open(path, encoding="utf-8") as handle:
        try:
            data = yaml.safe_load(handle)
        except yaml.YAMLError as exc:
            raise FixtureError("%s is not valid YAML (%s)." % (path, _oneline(exc))) from exc
    if data is None:
        return []
    if not isinstance(data, list):
        raise FixtureError(
            "%s holds a %s; make it a list of indexes, each '- keys: {field: 1}'."
            % (path, type(data).__name__)
        )
    return [
        parse_index(item, "%s index #%d" % (path, number))
        for number, item in enumerate(data, start=1)
    ]


def load_fixtures(src):
    """Every collection's documents and indexes in ``src``, sorted by collection name.

    Returns a list of dicts {name, documents, indexes, files}.
    """
    if not src or not os.path.isdir(src):
        raise FixtureError(
            "Option `src` is %r, which is not a directory; give the fixtures directory "
            "(the database role ships roles/database/files/fixtures)." % (src,)
        )
    collections = {}
    for base in sorted(os.listdir(src)):
        path = os.path.join(src, base)
        if base.startswith(".") or not os.path.isfile(path):
            continue
        name = collection_of(base)
        if name is None:
            continue  # README.md and friends
        check_collection_name(name, path)
        entry = collections.setdefault(name, dict(name=name, documents=[], indexes=[], files=[]))
        if base.endswith(INDEX_SUFFIXES):
            entry["indexes"] = read_indexes(path)
        else:
            if any(f for f in entry["files"] if not f.endswith(INDEX_SUFFIXES)):
                other = [f for f in entry["files"] if not f.endswith(INDEX_SUFFIXES)][0]
                raise FixtureError(
                    "%s and %s both hold documents for collection %r; keep one file per "
                    "collection." % (other, path, name)
                )
            entry["documents"] = read_documents(path)
        entry["files"].append(path)
    if not collections:
        raise FixtureError(
            "Option `src` is %r, which holds no fixture files; add <collection>.json, "
            "<collection>.yml or <collection>.indexes.yml files." % (src,)
        )
    return [collections[name] for name in sorted(collections)]


# --- comparing ------------------------------------------------------------------------------


def ferretdb_incompatibilities(value, path=""):
    """Paths and reasons of values FerretDB 1.x refuses (Decimal128, MinKey, MaxKey, code,
    NaN, arrays nested in arrays)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(
                ferretdb_incompatibilities(item, "%s.%s" % (path, key) if path else str(key))
            )
    elif isinstance(value, list):
        for number, item in enumerate(value):
            here = "%s.%d" % (path, number)
            if isinstance(item, list):
                found.append((here, "an array nested in an array"))
            found.extend(ferretdb_incompatibilities(item, here))
    elif isinstance(value, bson.decimal128.Decimal128):
        found.append((path, "a Decimal128"))
    elif isinstance(value, bson.min_key.MinKey):
        found.append((path, "MinKey"))
    elif isinstance(value, bson.max_key.MaxKey):
        found.append((path, "MaxKey"))
    elif isinstance(value, bson.code.Code):
        found.append((path, "JavaScript code"))
    elif isinstance(value, float) and math.isnan(value):
        found.append((path, "NaN"))
    return found


def normalise(doc):
    """The document as the server will give it back (ms-precision naive UTC dates, lists)."""
    return bson.decode(bson.encode(doc), codec_options=CodecOptions())


def _canonical(value):
    """A hashable, type-aware, key-order-insensitive form for comparing documents."""
    if isinstance(value, dict):
        return ("doc", tuple(sorted((str(k), _canonical(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("array", tuple(_canonical(v) for v in value))
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, float) and math.isnan(value):
        return ("double", "nan")
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return (type(value).__name__, value)


def same_document(a, b):
    return _canonical(a) == _canonical(b)


def _show_id(value):
    return json_util.dumps(value, json_options=json_util.RELAXED_JSON_OPTIONS)


def to_jsonable(value):
    """BSON values as plain JSON data (relaxed Extended JSON), for results and diffs."""
    return json.loads(json_util.dumps(value, json_options=json_util.RELAXED_JSON_OPTIONS))


# --- seeding --------------------------------------------------------------------------------


def check_server_support(fixtures, capabilities):
    """Refuse, before writing anything, values the server cannot store (FerretDB)."""
    if not capabilities or capabilities.get("rich_bson_types", True):
        return
    for fixture in fixtures:
        for number, doc in enumerate(fixture["documents"], start=1):
            problems = ferretdb_incompatibilities(doc)
            if problems:
                path, what = problems[0]
                raise FixtureError(
                    "Collection %r document #%d (_id %s) has %s at %r, which FerretDB cannot "
                    "store; change the value in %s (for money use an integer of cents or a "
                    "string) or seed a real MongoDB."
                    % (
                        fixture["name"],
                        number,
                        _show_id(doc["_id"]),
                        what,
                        path,
                        ", ".join(f for f in fixture["files"] if not f.endswith(INDEX_SUFFIXES)),
                    )
                )


def seed_collection(db, fixture, check_mode=False, assume_empty=False, diff=None):
    """Upsert one collection's documents by _id and create its indexes.

    Returns {inserted, updated, unchanged, indexes_created, indexes_unchanged}.
    ``assume_empty`` plans as if the collection had been dropped (reset's check mode).
    ``diff``, when a dict with 'before'/'after' dicts, collects the changed documents.
    """
    collection = db[fixture["name"]]
    result = dict(inserted=0, updated=0, unchanged=0, indexes_created=[], indexes_unchanged=[])

    if assume_empty:
        result["indexes_created"] = [index_name(spec) for spec in fixture["indexes"]]
    else:
        indexes = ensure_indexes(collection, fixture["indexes"], check_mode=check_mode)
        result["indexes_created"] = indexes["created"]
        result["indexes_unchanged"] = indexes["unchanged"]

    wanted = [normalise(doc) for doc in fixture["documents"]]
    existing = {}
    if wanted and not assume_empty:
        ids = [doc["_id"] for doc in wanted]
        for start in range(0, len(ids), 500):
            for doc in collection.find({"_id": {"$in": ids[start : start + 500]}}):
                existing[_canonical(doc["_id"])] = doc

    inserts, replaces = [], []
    for doc in wanted:
        have = existing.get(_canonical(doc["_id"]))
        if have is None:
            result["inserted"] += 1
            inserts.append(doc)
        elif same_document(have, doc):
            result["unchanged"] += 1
            continue
        else:
            result["updated"] += 1
            replaces.append(doc)
        if diff is not None:
            key = "%s %s" % (fixture["name"], _show_id(doc["_id"]))
            if have is not None:
                diff["before"][key] = to_jsonable(have)
            diff["after"][key] = to_jsonable(doc)

    if check_mode:
        return result
    # insert_many for the new documents; one replace_one per changed document (FerretDB
    # answers a failed upsert inside bulk_write without the counts pymongo needs).
    if inserts:
        try:
            collection.insert_many(inserts, ordered=True)
        except BulkWriteError as exc:
            error = (exc.details.get("writeErrors") or [{}])[0]
            raise _refused(
                fixture, inserts[error.get("index", 0)], error.get("errmsg", exc)
            ) from exc
    for doc in replaces:
        try:
            collection.replace_one({"_id": doc["_id"]}, doc, upsert=True)
        except PyMongoError as exc:
            raise _refused(
                fixture, doc, getattr(exc, "details", None) and exc.details.get("errmsg") or exc
            ) from exc
    return result


def _refused(fixture, doc, reason):
    # FerretDB prefixes its errors with Go source locations: keep the reason only.
    reason = re.sub(r"\[[^\]]*\.go:\d+[^\]]*\]\s*", "", _oneline(reason))
    return FixtureError(
        "Collection %r refused fixture document _id %s (%s); fix the fixture so it does not "
        "clash with the data or the collection's indexes."
        % (fixture["name"], _show_id(doc["_id"]), reason)
    )


def seed(db, fixtures, check_mode=False, assume_empty=(), capabilities=None, want_diff=False):
    """Seed every fixture collection. Returns the module result (without 'changed' logic)."""
    check_server_support(fixtures, capabilities)
    diff = dict(before={}, after={}) if want_diff else None
    collections = {}
    for fixture in fixtures:
        collections[fixture["name"]] = seed_collection(
            db,
            fixture,
            check_mode=check_mode,
            assume_empty=fixture["name"] in assume_empty,
            diff=diff,
        )
    totals = {
        key: sum(c[key] for c in collections.values())
        for key in ("inserted", "updated", "unchanged")
    }
    changed = bool(
        totals["inserted"]
        or totals["updated"]
        or any(c["indexes_created"] for c in collections.values())
    )
    result = dict(changed=changed, collections=collections, **totals)
    if diff is not None:
        result["diff"] = diff
    return result


def _oneline(exc):
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def select_collections(fixtures, names):
    """Only the fixtures of ``names`` (all when empty); FixtureError for an unknown name."""
    if not names:
        return fixtures
    known = [f["name"] for f in fixtures]
    missing = [name for name in names if name not in known]
    if missing:
        raise FixtureError(
            "Option `collections` names %s, which %s no file in `src`; use some of %s, or "
            "add a fixture file for it."
            % (
                ", ".join(repr(n) for n in missing),
                "has" if len(missing) == 1 else "have",
                ", ".join(known),
            )
        )
    return [f for f in fixtures if f["name"] in names]
