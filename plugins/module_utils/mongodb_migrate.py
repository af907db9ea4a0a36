# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Versioned migrations: discovery, checksums, the run lock, and applying them up or down.

A migrations directory holds files named ``<version>_<name>.yml`` (or ``.yaml``) and
``<version>_<name>.py``; ``<version>`` is digits (``0001``), compared as a number, and no
two files may share one. Each applied migration is recorded in the ``migrations``
collection: ``{_id: <version number>, version: "0001", name, file, kind, checksum (sha256
of the file), applied_at, duration_seconds, applied_by}``.

YAML migrations::

    description: What it does.
    up:
      - create_collection: users
      - create_index: {collection: users, keys: {email: 1}, unique: true}
    down:
      - drop_index: {collection: users, name: email_1}

Python migrations define ``up(db)`` and optionally ``down(db)``, where ``db`` is the
``pymongo.database.Database``. A migration without ``down`` cannot be reverted.

The servers we support may have no transactions (FerretDB), so a migration that fails half
way leaves what it did: the declarative operations are written to be safe to rerun
(create_collection skips an existing collection, insert skips an existing _id, ...), and
Python migrations should be too. The run lock is one document in the lock collection,
taken by inserting a fixed ``_id`` (atomic on every server, no transaction needed), with an
owner and an expiry after which another run may take it over.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
import time

from ansible_collections.vhvcorp.devtools.plugins.module_utils._ejson import dollar_keys, ejson_hook
from ansible_collections.vhvcorp.devtools.plugins.module_utils._errors import (
    DevtoolsError,
    FixtureError,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._indexes import (
    create_index,
    index_name,
    parse_index,
    plan_index,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._migration_lock import (
    MigrationLock,
    server_now,
)

try:
    import yaml
except ImportError:  # pragma: no cover - the modules report a missing PyYAML themselves
    yaml = None

try:
    from pymongo.errors import DuplicateKeyError, PyMongoError
except ImportError:  # pragma: no cover - the modules report a missing pymongo themselves
    DuplicateKeyError = PyMongoError = Exception

MIGRATION_FILE = re.compile(
    r"^(?P<version>\d+)_(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*)\.(?P<ext>yml|yaml|py)$"
)
OPERATIONS = (
    "create_collection",
    "drop_collection",
    "create_index",
    "drop_index",
    "insert",
    "update",
    "delete",
    "rename_field",
    "rename_collection",
)


class MigrationError(DevtoolsError):
    """A migration cannot be found, read, verified or run; the message says how to fix it."""


# --- discovery ------------------------------------------------------------------------------


def file_checksum(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(65536), b""):
            digest.update(block)
    return digest.hexdigest()


def discover(src):
    """The migrations in ``src``, sorted by version: dicts {version, number, name, file,
    path, kind, checksum}. Other files (README.md, __pycache__) are ignored."""
    if not src or not os.path.isdir(src):
        raise MigrationError(
            "Option `src` is %r, which is not a directory; give the migrations directory "
            "(the database role ships roles/database/files/migrations)." % (src,)
        )
    found = {}
    for base in sorted(os.listdir(src)):
        path = os.path.join(src, base)
        if base.startswith((".", "_")) or not os.path.isfile(path):
            continue
        if not base.endswith((".yml", ".yaml", ".py")):
            continue
        match = MIGRATION_FILE.match(base)
        if not match:
            raise MigrationError(
                "%s is not named like a migration; name it <version>_<name>.yml or "
                "<version>_<name>.py, e.g. 0003_add_user_locale.yml." % path
            )
        number = int(match.group("version"))
        if number == 0:
            raise MigrationError(
                "%s has version 0, which means 'nothing applied'; number migrations from 1." % path
            )
        if number in found:
            raise MigrationError(
                "%s and %s have the same version %d; renumber one of them."
                % (found[number]["path"], path, number)
            )
        found[number] = dict(
            version=match.group("version"),
            number=number,
            name=match.group("name"),
            file=base,
            path=path,
            kind="python" if match.group("ext") == "py" else "yaml",
            checksum=file_checksum(path),
        )
    return [found[number] for number in sorted(found)]


def parse_target(target, migrations):
    """The target version as a number (None: no target); MigrationError when unknown."""
    if target is None or str(target).strip() == "":
        return None
    text = str(target).strip()
    if not text.isdigit():
        raise MigrationError(
            "Option `target` is %r, which is not a version; give the number a migration file "
            "starts with (e.g. 0002), or 0 for 'before the first migration'." % (target,)
        )
    number = int(text)
    if number and number not in {m["number"] for m in migrations}:
        raise MigrationError(
            "Option `target` is %r, which is no migration in `src` (versions: %s); give one of "
            "them, or 0 for 'before the first migration'."
            % (target, ", ".join(m["version"] for m in migrations) or "none")
        )
    return number


# --- loading --------------------------------------------------------------------------------


def load(migration):
    """Read and validate a migration file; sets migration['up'] and migration['down']
    (lists of operations for YAML, callables for Python; down None if absent)."""
    if migration["kind"] == "python":
        return _load_python(migration)
    return _load_yaml(migration)


def _load_python(migration):
    path = migration["path"]
    module_name = "vhvcorp_devtools_migration_%s_%s" % (
        migration["number"],
        migration["checksum"][:12],
    )
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    # No __pycache__ beside the migrations (the role's files may be read-only or in git).
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - any error in user code is reported the same way
        raise MigrationError(
            "%s cannot be loaded (%s: %s); fix the file so it imports cleanly."
            % (path, type(exc).__name__, _oneline(exc))
        ) from exc
    finally:
        sys.dont_write_bytecode = saved
    up = getattr(module, "up", None)
    if not callable(up):
        raise MigrationError("%s defines no up(db) function; add one." % path)
    down = getattr(module, "down", None)
    migration.update(
        up=up, down=down if callable(down) else None, description=(module.__doc__ or "").strip()
    )
    return migration


def _load_yaml(migration):
    path = migration["path"]
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        raise MigrationError("%s is not valid YAML (%s)." % (path, _oneline(exc))) from exc
    if not isinstance(data, dict) or "up" not in data:
        raise MigrationError(
            "%s must be a mapping with an 'up' list of operations (and optionally 'down' and "
            "'description')." % path
        )
    unknown = sorted(set(data) - {"description", "up", "down"})
    if unknown:
        raise MigrationError(
            "%s has unknown top-level key(s) %s; use description, up and down."
            % (path, ", ".join(unknown))
        )
    migration["description"] = str(data.get("description") or "").strip()
    for direction in ("up", "down"):
        steps = data.get(direction)
        if steps is None:
            migration[direction] = None
            continue
        if not isinstance(steps, list):
            raise MigrationError("%s: '%s' must be a list of operations." % (path, direction))
        migration[direction] = [
            _parse_operation(step, "%s %s step %d" % (path, direction, number))
            for number, step in enumerate(steps, start=1)
        ]
    if migration["up"] is None:
        raise MigrationError("%s: 'up' is empty; give it at least one operation." % path)
    return migration


def _parse_operation(step, where):
    if not isinstance(step, dict) or len(step) != 1:
        raise MigrationError(
            "%s must be a mapping with exactly one operation (%s)." % (where, ", ".join(OPERATIONS))
        )
    ((op, args),) = step.items()
    if op not in OPERATIONS:
        raise MigrationError(
            "%s: %r is no operation; use one of %s." % (where, op, ", ".join(OPERATIONS))
        )
    if op in ("create_collection", "drop_collection") and isinstance(args, str):
        args = dict(name=args)
    if not isinstance(args, dict):
        raise MigrationError("%s: %s takes a mapping of arguments." % (where, op))
    required = dict(
        create_collection=("name",),
        drop_collection=("name",),
        create_index=("collection", "keys"),
        drop_index=("collection",),
        insert=("collection", "documents"),
        update=("collection", "filter", "update"),
        delete=("collection", "filter"),
        rename_field=("collection", "from", "to"),
        rename_collection=("from", "to"),
    )[op]
    allowed = dict(
        create_index=("collection", "keys", "name", "unique", "sparse", "expire_after_seconds"),
        drop_index=("collection", "name", "keys"),
        update=("collection", "filter", "update", "many", "upsert"),
        rename_field=("collection", "from", "to", "filter"),
    ).get(op, required)
    missing = [key for key in required if args.get(key) in (None, "")]
    if missing:
        raise MigrationError("%s: %s needs %s." % (where, op, ", ".join(missing)))
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise MigrationError(
            "%s: %s does not take %s; it takes %s."
            % (where, op, ", ".join(unknown), ", ".join(allowed))
        )
    args = dict(args)
    if op == "create_index":
        try:
            args["spec"] = parse_index(args, where)
        except FixtureError as exc:
            raise MigrationError(str(exc)) from exc
    if op == "drop_index":
        if not args.get("name") and not args.get("keys"):
            raise MigrationError("%s: drop_index needs name or keys." % where)
        if args.get("keys") and not args.get("name"):
            try:
                args["name"] = index_name(parse_index(dict(keys=args["keys"]), where))
            except FixtureError as exc:
                raise MigrationError(str(exc)) from exc
    if op == "insert":
        if not isinstance(args["documents"], list) or not all(
            isinstance(d, dict) for d in args["documents"]
        ):
            raise MigrationError("%s: insert documents must be a list of mappings." % where)
        args["documents"] = ejson_hook(args["documents"])
        bad = dollar_keys(args["documents"])
        if bad:
            raise MigrationError(
                "%s: insert documents have the field %r starting with '$'." % (where, bad[0])
            )
    if op in ("update", "delete", "rename_field"):
        for key in ("filter", "update"):
            if key in args and not isinstance(args[key], dict):
                raise MigrationError("%s: %s %s must be a mapping." % (where, op, key))
            if key in args:
                args[key] = ejson_hook(args[key])
    if op == "update" and not all(str(k).startswith("$") for k in args["update"]):
        raise MigrationError(
            "%s: update must use update operators ($set, $unset, $rename, ...), e.g. "
            "update: {$set: {status: active}}." % where
        )
    for key in ("collection", "name", "from", "to"):
        if key in args and not isinstance(args[key], str):
            raise MigrationError("%s: %s %s must be a string." % (where, op, key))
    return (op, args)


# --- running --------------------------------------------------------------------------------


def run_operations(db, operations, where):
    """Apply declarative operations in order; each is safe to rerun."""
    for number, (op, args) in enumerate(operations, start=1):
        try:
            _OPERATION_RUNNERS[op](db, args)
        except MigrationError:
            raise
        except (PyMongoError, FixtureError) as exc:
            raise MigrationError(
                "%s step %d (%s) failed: %s" % (where, number, op, _oneline(exc))
            ) from exc


def _create_collection(db, args):
    if args["name"] not in db.list_collection_names():
        db.create_collection(args["name"])


def _drop_collection(db, args):
    db.drop_collection(args["name"])


def _create_index(db, args):
    action, _name = plan_index(db[args["collection"]], args["spec"])
    if action == "create":
        create_index(db[args["collection"]], args["spec"])


def _drop_index(db, args):
    if args["collection"] not in db.list_collection_names():
        return
    if args["name"] in db[args["collection"]].index_information():
        db[args["collection"]].drop_index(args["name"])


def _insert(db, args):
    collection = db[args["collection"]]
    plain = []
    for doc in args["documents"]:
        if "_id" in doc:
            collection.update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True)
        else:
            plain.append(doc)
    if plain:
        collection.insert_many(plain)


def _update(db, args):
    collection = db[args["collection"]]
    upsert = bool(args.get("upsert", False))
    if args.get("many", True):
        collection.update_many(args["filter"], args["update"], upsert=upsert)
    else:
        collection.update_one(args["filter"], args["update"], upsert=upsert)


def _delete(db, args):
    db[args["collection"]].delete_many(args["filter"])


def _rename_field(db, args):
    query = dict(args.get("filter") or {})
    query[args["from"]] = {"$exists": True}
    db[args["collection"]].update_many(query, {"$rename": {args["from"]: args["to"]}})


def _rename_collection(db, args):
    names = db.list_collection_names()
    if args["from"] not in names:
        if args["to"] in names:
            return  # already renamed by an earlier, interrupted run
        raise MigrationError("rename_collection: collection %r does not exist." % args["from"])
    if args["to"] in names:
        # No dropTarget: FerretDB lacks it, and silently dropping data is not a migration's job.
        raise MigrationError(
            "rename_collection: %r cannot be renamed to %r, which exists; drop or rename %r "
            "first (a drop_collection step before this one)."
            % (args["from"], args["to"], args["to"])
        )
    db[args["from"]].rename(args["to"])


_OPERATION_RUNNERS = dict(
    create_collection=_create_collection,
    drop_collection=_drop_collection,
    create_index=_create_index,
    drop_index=_drop_index,
    insert=_insert,
    update=_update,
    delete=_delete,
    rename_field=_rename_field,
    rename_collection=_rename_collection,
)


def run_migration(db, migration, direction):
    """Run one loaded migration in ``direction``; MigrationError says what failed."""
    step = migration[direction]
    where = migration["path"]
    if step is None:
        raise MigrationError(
            "%s has no %s; it cannot be reverted. Restore the database from a backup, or add "
            "a down %s to the migration before it is applied anywhere else."
            % (
                where,
                "down() function" if migration["kind"] == "python" else "'down' list",
                "function" if migration["kind"] == "python" else "list",
            )
        )
    try:
        if migration["kind"] == "python":
            step(db)
        else:
            run_operations(db, step, "%s %s" % (where, direction))
    except MigrationError as exc:
        raise MigrationError(_partial(exc, where, direction)) from exc
    except Exception as exc:  # noqa: BLE001 - user code: report whatever it raised
        raise MigrationError(
            _partial(
                "%s() raised %s: %s" % (direction, type(exc).__name__, _oneline(exc)),
                where,
                direction,
            )
        ) from exc


def _partial(exc, where, direction):
    return (
        "Migration %s failed (%s). It was not recorded as %s; the server has no transactions, "
        "so what it did before the failure stays: fix the migration so it can run again over "
        "that, then rerun."
        % (where, str(exc).rstrip("."), "applied" if direction == "up" else "reverted")
    )


# --- planning and migrating -----------------------------------------------------------------


def applied_records(db, collection="migrations"):
    return {
        record["_id"]: record
        for record in db[collection].find()
        if isinstance(record.get("_id"), int)
    }


def verify(migrations, records):
    """MigrationError when an applied migration's file changed; returns warnings."""
    by_number = {m["number"]: m for m in migrations}
    changed = []
    warnings = []
    for number, record in sorted(records.items()):
        migration = by_number.get(number)
        if migration is None:
            warnings.append(
                "Migration %s (%s) is recorded as applied but its file is not in src."
                % (record.get("version", number), record.get("file"))
            )
        elif migration["checksum"] != record.get("checksum"):
            changed.append((migration, record))
    if changed:
        raise MigrationError(
            " ".join(
                "%s was changed after it was applied (checksum then %s, now %s)."
                % (m["path"], r.get("checksum"), m["checksum"])
                for m, r in changed
            )
            + " Nothing was run. Restore the file to what was applied (git checkout it) and "
            "put the change in a new migration; for a throwaway local database, reset it "
            "(db-reset.yml) and migrate again."
        )
    return warnings


def plan(migrations, records, direction, target):
    """The migrations to run, in order."""
    if direction == "up":
        return [
            m
            for m in migrations
            if m["number"] not in records and (target is None or m["number"] <= target)
        ]
    applied = [m for m in reversed(migrations) if m["number"] in records]
    if target is None:
        return applied[:1]
    missing = [n for n in records if n > target and n not in {m["number"] for m in migrations}]
    if missing:
        raise MigrationError(
            "Cannot revert to %s: migration(s) %s are applied but their files are not in src; "
            "restore the files, or choose a target at or above %s."
            % (target, ", ".join(str(n) for n in sorted(missing)), max(missing))
        )
    return [m for m in applied if m["number"] > target]


def _summary(migration, direction, status, duration=None):
    entry = dict(
        version=migration["version"],
        name=migration["name"],
        file=migration["file"],
        kind=migration["kind"],
        checksum=migration["checksum"],
        direction=direction,
        status=status,
    )
    if duration is not None:
        entry["duration_seconds"] = duration
    return entry


def migrate(
    db,
    src,
    direction="up",
    target=None,
    check_mode=False,
    collection="migrations",
    lock_collection="migrations_lock",
    lock_timeout=60,
    lock_ttl=600,
    owner=None,
):
    """Apply (up) or revert (down) migrations; returns the module result."""
    if direction not in ("up", "down"):
        raise MigrationError("Option `direction` is %r; use up or down." % (direction,))
    migrations = discover(src)
    number = parse_target(target, migrations)
    result = dict(changed=False, migrations=[], warnings=[], lock=None)

    if check_mode:
        records = applied_records(db, collection)
        result["warnings"] = verify(migrations, records)
        todo = plan(migrations, records, direction, number)
        for migration in todo:
            load(migration)
            if direction == "down" and migration["down"] is None:
                run_migration(db, migration, "down")  # raises: it cannot be reverted
        status = "would apply" if direction == "up" else "would revert"
        result["migrations"] = [_summary(m, direction, status) for m in todo]
        result["changed"] = bool(todo)
        applied = (
            set(records) | {m["number"] for m in todo}
            if direction == "up"
            else set(records) - {m["number"] for m in todo}
        )
    else:
        lock = MigrationLock(db, lock_collection, owner=owner, ttl=lock_ttl, timeout=lock_timeout)
        with lock:
            result["lock"] = dict(
                owner=lock.owner, waited_seconds=lock.waited, took_over_stale=lock.took_over
            )
            # Read the records only now, under the lock: a run we waited for may have
            # applied what we would otherwise apply again.
            records = applied_records(db, collection)
            result["warnings"] = verify(migrations, records)
            todo = plan(migrations, records, direction, number)
            for migration in todo:
                load(migration)  # every file is read before anything runs
            if direction == "down":
                for migration in todo:
                    if migration["down"] is None:
                        run_migration(db, migration, "down")  # raises before anything runs
            for migration in todo:
                lock.renew()
                started = time.monotonic()
                try:
                    run_migration(db, migration, direction)
                except MigrationError as exc:
                    # Tell the caller what did run before the failure.
                    exc.done = list(result["migrations"])
                    raise
                duration = round(time.monotonic() - started, 3)
                if direction == "up":
                    db[collection].insert_one(
                        dict(
                            _id=migration["number"],
                            version=migration["version"],
                            name=migration["name"],
                            file=migration["file"],
                            kind=migration["kind"],
                            checksum=migration["checksum"],
                            description=migration.get("description", ""),
                            applied_at=server_now(db),
                            duration_seconds=duration,
                            applied_by=lock.owner,
                        )
                    )
                else:
                    db[collection].delete_one({"_id": migration["number"]})
                result["migrations"].append(
                    _summary(
                        migration,
                        direction,
                        "applied" if direction == "up" else "reverted",
                        duration,
                    )
                )
                result["changed"] = True
            applied = set(applied_records(db, collection))

    by_number = {m["number"]: m for m in migrations}
    result["applied"] = [
        by_number[n]["version"] if n in by_number else str(n) for n in sorted(applied)
    ]
    result["pending"] = [m["version"] for m in migrations if m["number"] not in applied]
    result["current_version"] = result["applied"][-1] if result["applied"] else None
    return result


def _oneline(exc):
    text = str(exc).strip().splitlines()
    return text[0].split(", full error:")[0][:300] if text else type(exc).__name__
