# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Index declarations (fixtures' .indexes.yml, migrations' create_index): parsed, named as
MongoDB names them, compared with the server's and created where missing."""

from __future__ import annotations

from ansible_collections.vhvcorp.devtools.plugins.module_utils._errors import FixtureError

try:
    from pymongo.errors import PyMongoError
except ImportError:  # pragma: no cover - the modules report a missing pymongo themselves
    PyMongoError = Exception

INDEX_OPTIONS = ("keys", "name", "unique", "sparse", "expire_after_seconds")


def parse_index(item, where):
    """A normalised index spec from a declaration; raises FixtureError naming ``where``.

    ``keys`` may be a mapping ``{a: 1, b: -1}`` (order kept), a list of single-key
    mappings ``[{a: 1}, {b: -1}]`` or a list of pairs ``[[a, 1], [b, -1]]``.
    """
    if not isinstance(item, dict) or "keys" not in item:
        raise FixtureError("%s must be a mapping with 'keys', e.g. keys: {email: 1}." % where)
    unknown = sorted(set(item) - set(INDEX_OPTIONS) - {"collection"})
    if unknown:
        raise FixtureError(
            "%s has unknown option(s) %s; use only %s."
            % (where, ", ".join(unknown), ", ".join(INDEX_OPTIONS))
        )
    raw = item["keys"]
    pairs = []
    if isinstance(raw, dict):
        pairs = list(raw.items())
    elif isinstance(raw, list):
        for element in raw:
            if isinstance(element, dict) and len(element) == 1:
                pairs.extend(element.items())
            elif isinstance(element, (list, tuple)) and len(element) == 2:
                pairs.append(tuple(element))
            else:
                pairs = []
                break
    if not pairs:
        raise FixtureError(
            "%s: keys %r is not a list of fields with directions; write keys: {field: 1} "
            "(1 ascending, -1 descending)." % (where, raw)
        )
    keys = []
    for field, direction in pairs:
        if not isinstance(field, str) or not field or field.startswith("$"):
            raise FixtureError("%s: %r is not a field name." % (where, field))
        if isinstance(direction, bool) or direction not in (1, -1, "text", "hashed", "2dsphere"):
            raise FixtureError(
                "%s: direction %r of field %r is not 1 or -1 (or text, hashed, 2dsphere)."
                % (where, direction, field)
            )
        keys.append((field, direction))
    spec = dict(
        keys=keys, unique=bool(item.get("unique", False)), sparse=bool(item.get("sparse", False))
    )
    if item.get("name") is not None:
        spec["name"] = str(item["name"])
    ttl = item.get("expire_after_seconds")
    if ttl is not None:
        if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
            raise FixtureError(
                "%s: expire_after_seconds %r is not a whole number >= 0." % (where, ttl)
            )
        spec["expire_after_seconds"] = ttl
    return spec


def index_name(spec):
    """The index's name: the declared one, else MongoDB's default (``email_1``)."""
    return spec.get("name") or "_".join("%s_%s" % (f, d) for f, d in spec["keys"])


def _existing_indexes(collection):
    try:
        return list(collection.list_indexes())
    except PyMongoError:
        return []


def _index_options(info):
    return dict(
        unique=bool(info.get("unique", False)),
        sparse=bool(info.get("sparse", False)),
        expire_after_seconds=info.get("expireAfterSeconds"),
    )


def plan_index(collection, spec, existing=None):
    """('unchanged'|'create', name) for one declared index; FixtureError on a conflict."""
    existing = _existing_indexes(collection) if existing is None else existing
    wanted = dict(
        unique=spec.get("unique", False),
        sparse=spec.get("sparse", False),
        expire_after_seconds=spec.get("expire_after_seconds"),
    )
    name = index_name(spec)
    for info in existing:
        keys = [(k, _direction(v)) for k, v in info["key"].items()]
        if keys == [(f, _direction(d)) for f, d in spec["keys"]]:
            have = _index_options(info)
            if have != wanted or (spec.get("name") and info["name"] != spec["name"]):
                raise FixtureError(
                    "Collection %r already has index %r on %s with %s, but %s is declared; "
                    "drop the old index (db.%s.dropIndex(%r)) or declare it as it is."
                    % (
                        collection.name,
                        info["name"],
                        _show_keys(spec["keys"]),
                        _show_options(have, info["name"]),
                        _show_options(wanted, name),
                        collection.name,
                        info["name"],
                    )
                )
            return "unchanged", info["name"]
        if info["name"] == name:
            raise FixtureError(
                "Collection %r has an index named %r on %s, but that name is declared for %s; "
                "give the declared index another name or drop the old one."
                % (
                    collection.name,
                    name,
                    _show_keys(list(info["key"].items())),
                    _show_keys(spec["keys"]),
                )
            )
    return "create", name


def create_index(collection, spec):
    kwargs = dict(name=index_name(spec))
    if spec.get("unique"):
        kwargs["unique"] = True
    if spec.get("sparse"):
        kwargs["sparse"] = True
    if spec.get("expire_after_seconds") is not None:
        kwargs["expireAfterSeconds"] = spec["expire_after_seconds"]
    return collection.create_index(list(spec["keys"]), **kwargs)


def ensure_indexes(collection, specs, check_mode=False):
    """Create the declared indexes that are missing. Returns {created: [...], unchanged: [...]}."""
    result = dict(created=[], unchanged=[])
    existing = _existing_indexes(collection)
    for spec in specs:
        action, name = plan_index(collection, spec, existing)
        if action == "unchanged":
            result["unchanged"].append(name)
            continue
        if not check_mode:
            create_index(collection, spec)
        result["created"].append(name)
    return result


def _direction(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _show_keys(keys):
    return "{%s}" % ", ".join("%s: %s" % (f, d) for f, d in keys)


def _show_options(options, name):
    shown = ["name %r" % name, "unique=%s" % options["unique"]]
    if options.get("sparse"):
        shown.append("sparse=True")
    if options.get("expire_after_seconds") is not None:
        shown.append("expire_after_seconds=%s" % options["expire_after_seconds"])
    return ", ".join(shown)
