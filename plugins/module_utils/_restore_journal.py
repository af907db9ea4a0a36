# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What restores leave in a database while they work, read by restore and by backup: the
journal collection (the runs and swaps in flight, which recovery finishes or undoes) and the
restore lock, one document in that collection, with which restores into a database take
turns and backups see that one is at work."""

from __future__ import annotations

import datetime
import os
import socket
import uuid

from ansible_collections.vhvcorp.devtools.plugins.module_utils._errors import DevtoolsError
from ansible_collections.vhvcorp.devtools.plugins.module_utils._time import utc_now, when

try:
    import pymongo
    import pymongo.errors
except ImportError:  # pragma: no cover - the modules report a missing pymongo themselves
    pymongo = None

JOURNAL = "__vhv_restore_journal"
RESERVED_PREFIX = "__vhv_"
# A journal older than this whose process still seems alive is taken as dead all the same.
STALE_AFTER = datetime.timedelta(hours=12)
# The lock tokens of the restores this process runs (see run_alive).
_ACTIVE_RUNS = set()


class RestoreError(DevtoolsError):
    """A refusal or failure whose message is one actionable sentence."""


def run_alive(run):
    """Is the run that wrote this journal still working (so recovery must leave it be)?"""
    if run.get("host") != socket.gethostname():
        return False
    started = run.get("started")
    if isinstance(started, datetime.datetime):
        if started.tzinfo is None:
            started = started.replace(tzinfo=datetime.timezone.utc)
        if utc_now() - started > STALE_AFTER:
            return False
    pid = run.get("pid")
    if pid == os.getpid():
        return run.get("token") in _ACTIVE_RUNS
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, TypeError):
        return False
    except PermissionError:
        return True
    return True


# --- the lock ----------------------------------------------------------------------------------

# Restores into one database take turns: each holds a lock document in the database's journal
# collection while it works, taken by inserting this fixed _id (atomic on every server, no
# transaction needed: the way mongodb_migrate's lock is taken). Recovery takes it too, and
# only the holder writes the journal, so the holder may drop the journal collection when its
# lock is the last document in it. A second restore is refused, not queued: a restore can
# take minutes, and what the first one leaves is what the second would replace.
LOCK_DOC = "lock"


class RestoreLockError(RestoreError):
    """Another restore holds the lock on a database."""


def _lock_alive(holder):
    """Does the lock's process still run? One on another machine cannot be asked: it is taken
    as running until STALE_AFTER has passed since it started."""
    if holder.get("host") != socket.gethostname():
        started = holder.get("started")
        if isinstance(started, datetime.datetime):
            if started.tzinfo is None:
                started = started.replace(tzinfo=datetime.timezone.utc)
            return utc_now() - started <= STALE_AFTER
        return True
    return run_alive(holder)


def running_restore(client, dbname):
    """The lock document of a restore that is writing to ``dbname`` now, or None."""
    holder = client[dbname][JOURNAL].find_one({"_id": LOCK_DOC})
    return holder if holder is not None and _lock_alive(holder) else None


class RestoreLock:
    """The restore lock on databases, one lock document per database, taken one database at a
    time (in sorted order) and released together."""

    def __init__(self, client, src=None):
        self.client = client
        self.src = src
        self.token = uuid.uuid4().hex
        self.held = []
        self.took_over = []

    def take(self, dbname):
        """Take the lock on ``dbname`` (a no-op if this lock holds it already); a stale lock of
        a process that is gone is taken over. RestoreLockError if a running restore holds it."""
        if dbname in self.held:
            return
        journal = self.client[dbname][JOURNAL]
        doc = {
            "_id": LOCK_DOC,
            "kind": "lock",
            "owner": "%s:%d" % (socket.gethostname(), os.getpid()),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "token": self.token,
            "src": self.src,
            "started": utc_now(),
        }
        _ACTIVE_RUNS.add(self.token)
        while True:
            try:
                journal.insert_one(doc)
                self.held.append(dbname)
                return
            except pymongo.errors.DuplicateKeyError:
                pass
            holder = journal.find_one({"_id": LOCK_DOC})
            if holder is None:
                continue  # released between our insert and our read: try again
            if _lock_alive(holder):
                raise RestoreLockError(
                    "Another restore is writing to database %s (process %s, since %s UTC, "
                    "restoring %s), so this one changed nothing; wait for it to finish and run "
                    "this one again. If that process is gone for good (its machine crashed), "
                    "delete its lock with db.getSiblingDB(%r).%s.deleteOne({_id: %r}), then "
                    "run mongodb_restore with recover: true."
                    % (
                        dbname,
                        holder.get("owner"),
                        when(holder.get("started")),
                        holder.get("src") or "(recovery)",
                        dbname,
                        JOURNAL,
                        LOCK_DOC,
                    )
                )
            # Its process is gone: delete exactly that lock (another run may have taken it
            # over already, then this deletes nothing) and race for it again.
            journal.delete_one({"_id": LOCK_DOC, "token": holder.get("token")})
            self.took_over.append(
                {
                    "database": dbname,
                    "owner": holder.get("owner"),
                    "started": when(holder.get("started")),
                }
            )

    def take_all(self, dbnames):
        try:
            for dbname in sorted(set(dbnames)):
                self.take(dbname)
        except BaseException:
            self.release()
            raise

    def release(self):
        """Give every lock back; a journal left holding only the lock goes with it. Best
        effort: a lock that cannot be deleted now (the server is gone) is taken over by the
        next run, its process being gone."""
        _ACTIVE_RUNS.discard(self.token)
        held, self.held = self.held, []
        for dbname in held:
            journal = self.client[dbname][JOURNAL]
            try:
                mine = journal.find_one({"_id": LOCK_DOC, "token": self.token}) is not None
                if mine and journal.count_documents({"_id": {"$ne": LOCK_DOC}}, limit=1) == 0:
                    journal.drop()
                else:
                    journal.delete_one({"_id": LOCK_DOC, "token": self.token})
            except pymongo.errors.PyMongoError:
                pass

    def as_dict(self):
        return {"token": self.token, "databases": sorted(self.held), "took_over": self.took_over}


def run_committed(client, run):
    coordinator = run.get("coordinator") or ""
    if coordinator:
        doc = client[coordinator][JOURNAL].find_one({"_id": run["_id"]})
        if doc is not None:
            return doc.get("state") == "committed"
    return run.get("state") == "committed"


def pending_journals(client, databases=None):
    """{database: [run documents]} of journals left by restores."""
    found = {}
    names = databases if databases is not None else client.list_database_names()
    for name in names:
        db = client[name]
        if JOURNAL not in set(db.list_collection_names(filter={"name": JOURNAL})):
            continue
        runs = list(db[JOURNAL].find({"kind": "run"}))
        items = list(db[JOURNAL].find({"kind": "item"}))
        if runs or items:
            found[name] = {"runs": runs, "items": items}
    return found
