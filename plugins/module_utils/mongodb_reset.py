# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reset: drop the platform's collections (never a database), then reseed when asked."""

from __future__ import annotations

from ansible_collections.vhvcorp.devtools.plugins.module_utils._errors import (
    COLLECTION_NAME,
    DevtoolsError,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._migration_lock import (
    MigrationLock,
    MigrationLockError,
    default_owner,
    holder_operation,
    running_migration,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._time import when
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb import document_count

# The architecture's go_dev collections. migrations goes too: after a reset the schema
# is whatever the reseed and the next migrate make it, so their records must go with it.
PLATFORM_COLLECTIONS = (
    "users",
    "tenants",
    "sessions",
    "notifications",
    "configs",
    "audit_logs",
    "migrations",
)
PROTECTED_DATABASES = frozenset(("admin", "local", "config"))


class ResetError(DevtoolsError):
    """Reset refused; the message says why and how to proceed."""


def check_request(database, collections):
    """Refuse what a reset must never touch, before connecting."""
    if database in PROTECTED_DATABASES:
        raise ResetError(
            "Option `database` is %r, a database the server itself uses; reset only drops an "
            "application database's collections, so name that (e.g. go_dev)." % database
        )
    if not collections:
        raise ResetError(
            "Option `collections` is empty; name the collections to drop, or leave the option "
            "out to drop the platform's (%s)." % ", ".join(PLATFORM_COLLECTIONS)
        )
    for name in collections:
        if not COLLECTION_NAME.match(name or ""):
            raise ResetError(
                "Option `collections` has %r, which is not a collection this tool drops; use "
                "plain names (letters, digits, '_' and '-'; never system.*)." % (name,)
            )


def _refuse_locked(db, holder):
    """The refusal while another run (a migration or another reset) holds the lock."""
    operation = holder_operation(holder)
    return ResetError(
        "A %s run (owner %s) holds the lock on database %r until %s UTC; wait for it "
        "to finish and reset again%s."
        % (
            operation,
            holder.get("owner"),
            db.name,
            when(holder["expires_at"]),
            ", so its records are not dropped under it" if operation == "migrate" else "",
        )
    )


def reset(
    db,
    collections=PLATFORM_COLLECTIONS,
    confirm=False,
    reseed=None,
    check_mode=False,
    target="",
    lock_collection="migrations_lock",
):
    """Drop ``collections`` of ``db`` (with their counts), then call ``reseed`` when given.

    ``reseed(check_mode=..., assume_empty=...)`` loads the fixtures and returns the seed's
    result (the module binds mongodb_seed.seed to its fixtures): the reset holds the
    migrations' lock over both, without knowing how seeding is done. Without ``confirm``
    only check mode proceeds (it changes nothing). Returns the module result: {changed,
    dropped: [{name, documents}], absent: [...], seed: {...} or None}.
    """
    check_request(db.name, collections)
    existing = set(db.list_collection_names())
    dropped = [
        dict(name=name, documents=document_count(db[name]))
        for name in collections
        if name in existing
    ]
    absent = [name for name in collections if name not in existing]
    if not confirm and not check_mode:
        raise ResetError(
            "Refusing to drop %s from database %r%s without confirmation; set `confirm: true` "
            "(with db-reset.yml: -e confirm=true) to drop them."
            % (
                ", ".join("%s (%d documents)" % (d["name"], d["documents"]) for d in dropped)
                or "the collections %s (none exists yet)" % ", ".join(collections),
                db.name,
                target and " at %s" % target,
            )
        )
    if check_mode or (not dropped and reseed is None):
        holder = running_migration(db, lock_collection)
        if holder is not None:
            raise _refuse_locked(db, holder)
        return _drop_and_seed(db, dropped, absent, reseed, collections, check_mode)
    # The reset holds the migrations' own lock while it drops and reseeds: it is refused
    # while a migration runs, and a migration started meanwhile waits for it (lock_timeout)
    # instead of writing its records into collections being dropped.
    lock = MigrationLock(
        db, lock_collection, owner="reset " + default_owner(), timeout=0, operation="reset"
    )
    try:
        lock.acquire()
    except MigrationLockError as exc:
        raise _refuse_locked(db, exc.holder) from exc
    try:
        return _drop_and_seed(db, dropped, absent, reseed, collections, False)
    finally:
        lock.release()


def _drop_and_seed(db, dropped, absent, reseed, collections, check_mode):
    if not check_mode:
        for entry in dropped:
            db.drop_collection(entry["name"])
    result = dict(changed=bool(dropped), dropped=dropped, absent=absent, seed=None)
    if reseed is not None:
        seeded = reseed(check_mode=check_mode, assume_empty=set(collections) if check_mode else ())
        result["seed"] = seeded
        result["changed"] = result["changed"] or seeded["changed"]
    return result
