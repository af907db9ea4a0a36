# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The migrations' run lock, which resets take too and backups respect: one document
{_id: 'migrate', owner, operation, acquired_at, expires_at} per database, taken by inserting a
fixed ``_id`` (atomic on every server, no transaction needed), with an expiry after which
another run may take it over. ``operation`` says which kind of run holds it (migrate or
reset), so a refusal names the real holder."""

from __future__ import annotations

import datetime
import os
import socket
import time
import uuid

from ansible_collections.vhvcorp.devtools.plugins.module_utils._errors import DevtoolsError
from ansible_collections.vhvcorp.devtools.plugins.module_utils._time import when

try:
    from pymongo.errors import DuplicateKeyError, PyMongoError
except ImportError:  # pragma: no cover - the modules report a missing pymongo themselves
    DuplicateKeyError = PyMongoError = Exception

LOCK_ID = "migrate"
# What a refusal calls the run that holds the lock, by the operation its document records.
OPERATION_NOUNS = {"migrate": "migration", "reset": "reset"}


class MigrationLockError(DevtoolsError):
    """Another run holds the lock (``holder``: its lock document, when known)."""

    holder = None


def server_now(db):
    """The server's clock (hello.localTime), so every client agrees on lock expiry."""
    try:
        now = db.client.admin.command("hello").get("localTime")
    except PyMongoError:
        now = None
    if not isinstance(now, datetime.datetime):
        now = datetime.datetime.now(datetime.timezone.utc)
    return now.replace(tzinfo=None) if now.tzinfo else now


def holder_operation(holder):
    """The operation (migrate or reset) of the run that wrote the lock document ``holder``;
    a document without the field was written by a migrate run of an earlier version."""
    return holder.get("operation") or "migrate"


def holder_noun(holder):
    """What a message calls the run holding the lock: "migration" or "reset"."""
    operation = holder_operation(holder)
    return OPERATION_NOUNS.get(operation, operation)


def running_migration(db, lock_collection="migrations_lock"):
    """The lock document of a run (migrate or reset) that holds ``db`` now (not expired), or
    None."""
    holder = db[lock_collection].find_one({"_id": LOCK_ID})
    if holder and holder.get("expires_at") and holder["expires_at"] > server_now(db):
        return holder
    return None


def default_owner():
    return "%s:%d:%s" % (socket.gethostname(), os.getpid(), uuid.uuid4().hex[:8])


class MigrationLock:
    """One lock document {_id: 'migrate', owner, operation, acquired_at, expires_at} per
    database; ``operation`` is the kind of run that takes it (migrate or reset)."""

    def __init__(
        self,
        db,
        collection="migrations_lock",
        owner=None,
        ttl=600,
        timeout=60,
        poll=0.5,
        operation="migrate",
    ):
        self.collection = db[collection]
        self.db = db
        self.owner = owner or default_owner()
        self.operation = operation
        self.ttl = ttl
        self.timeout = timeout
        self.poll = poll
        self.waited = 0.0
        self.took_over = None

    def acquire(self):
        started = time.monotonic()
        while True:
            now = server_now(self.db)
            try:
                self.collection.insert_one(
                    dict(
                        _id=LOCK_ID,
                        owner=self.owner,
                        operation=self.operation,
                        acquired_at=now,
                        expires_at=now + datetime.timedelta(seconds=self.ttl),
                    )
                )
                self.waited = round(time.monotonic() - started, 3)
                return self
            except DuplicateKeyError:
                pass
            holder = self.collection.find_one({"_id": LOCK_ID})
            if holder is None:
                continue  # released between our insert and our read: try again
            if holder.get("expires_at") and holder["expires_at"] <= now:
                # Stale: its run died. Delete exactly that document (another waiter may have
                # taken it over already, then this deletes nothing) and race for it again.
                self.collection.delete_one(
                    {
                        "_id": LOCK_ID,
                        "owner": holder.get("owner"),
                        "expires_at": holder["expires_at"],
                    }
                )
                self.took_over = holder.get("owner")
                continue
            if time.monotonic() - started >= self.timeout:
                error = MigrationLockError(
                    "Another %s run holds the lock on database %r (owner %s, since %s UTC, "
                    "expires %s UTC) and did not finish within lock_timeout=%ss; wait for it and "
                    "rerun, or, if that run is dead, rerun after the expiry or delete the lock "
                    "with db.%s.deleteOne({_id: %r})."
                    % (
                        holder_operation(holder),
                        self.db.name,
                        holder.get("owner"),
                        when(holder.get("acquired_at")),
                        when(holder.get("expires_at")),
                        _num(self.timeout),
                        self.collection.name,
                        LOCK_ID,
                    )
                )
                error.holder = holder
                raise error
            time.sleep(self.poll)

    def renew(self):
        now = server_now(self.db)
        result = self.collection.update_one(
            {"_id": LOCK_ID, "owner": self.owner},
            {"$set": {"expires_at": now + datetime.timedelta(seconds=self.ttl)}},
        )
        if result.matched_count != 1:
            raise MigrationLockError(
                "This migrate run lost its lock on database %r (it expired after lock_ttl=%ss "
                "and another run took it); raise lock_ttl above the longest migration's "
                "duration and rerun." % (self.db.name, _num(self.ttl))
            )

    def release(self):
        self.collection.delete_one({"_id": LOCK_ID, "owner": self.owner})

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False


def _num(value):
    return ("%g" % value) if isinstance(value, float) else str(value)
