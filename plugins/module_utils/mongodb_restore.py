# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Restore a dump into MongoDB without ever leaving a half-restored collection.

1. Verify the whole input (``_archive_readers.open_source``): nothing is written if any check fails.
2. Plan: map every source namespace through ``ns_include``/``ns_exclude`` and
   ``ns_from``/``ns_to`` (mongorestore's pattern language), look at each target.
3. Load: each collection goes into a staging collection of its target database (dot-free
   name, so FerretDB takes it), with the dump's options and, once loaded, its indexes.
4. Commit: one document update in the journal of the coordinating database is the point
   after which the restore is finished rather than undone.
5. Swap: where the server renames with ``dropTarget`` this is one atomic rename per
   collection. Where it refuses (FerretDB, error 238) the target is renamed aside, the
   staging collection renamed in, and the old one dropped. Every step is recorded in a small
   journal collection (``__vhv_restore_journal``) in the database, and recovery looks at
   which collections exist, so a run killed between any two steps loses nothing: the next
   run (or ``recover``) finishes a committed restore and rolls back one that was not.

``FAULT_HOOK`` lets tests stop a run at a named step, as a crash would: set it to a
callable ``hook(step, info)`` that raises. It is not a module option.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import socket
import uuid
from operator import itemgetter

from ansible_collections.vhvcorp.devtools.plugins.module_utils._namespaces import (
    NamespaceMatcher,
    NamespaceRenamer,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._restore_journal import (
    JOURNAL,
    RESERVED_PREFIX,
    RestoreError,
    RestoreLock,
    RestoreLockError,
    pending_journals,
    run_alive,
    run_committed,
    running_restore,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._time import utc_now

try:
    import pymongo
    import pymongo.errors
    from bson.son import SON
except ImportError:  # pragma: no cover - the module reports missing pymongo first
    pymongo = SON = None

from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_bson import (
    prefetch,
    raw_documents,
    split_documents,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_format import (
    CHUNK_SIZE,
    is_valid_database_name,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_readers import open_source
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb import document_count

# FerretDB answers renameCollection with dropTarget: true with NotImplemented.
DROP_TARGET_REFUSED = frozenset((238,))
DUPLICATE_KEY = 11000
# Index fields that describe, not define, an index.
_INDEX_NOISE = ("v", "ns", "background")
# Collection options that cannot be given to create.
_OPTION_NOISE = ("uuid", "idIndex")

# Documents go to the server in insert commands of up to this many bytes: whole read chunks
# (_archive_format.CHUNK_SIZE, 8 MiB) are gathered while another would fit, so two make one
# insert of about 16 MiB, as large as the benchmark's limit sends. Each insert costs the
# server a fixed price and leaves it idle while the next is sent: with FerretDB 100 MB took
# 4.7-5.7 s in 8 MiB inserts, 4.0-4.7 s in 16 MiB ones. Larger (28 MiB) was no faster and
# took the peak RSS past 200 MB. pymongo splits a command past the server's limits (48 MB,
# 100,000 docs).
INSERT_BYTES = 20 * 1024 * 1024

# Documents read ahead of the inserts, in bytes: the next insert's, ready when the current
# one returns (two 8 MiB chunks; a third does not fit). Each chunk ahead costs its bytes
# once more in RawBSONDocuments (half as much again for small documents), so a count bound
# (the queue used to hold two chunks and the reading thread a third) let the peak RSS reach
# 165-175 MB.
AHEAD_BYTES = INSERT_BYTES

# glibc's malloc serves a block of this size or more by mmap, returned to the system when
# freed. By default it raises that threshold to the size of every large block freed (up to
# 32 MiB), after which the 8 MiB chunks and the 16 MiB insert messages come from the heap,
# whose freed holes are kept: restoring 500 MB of 100 KB documents peaked at 157 MB of RSS
# that way, at 120 MB with the threshold fixed (mallopt(M_MMAP_THRESHOLD), which also stops
# the raising). No library sets it; elsewhere than glibc nothing is done.
MMAP_THRESHOLD = 1024 * 1024
_M_MMAP_THRESHOLD = -3

FAULT_HOOK = None


def _fault(step, **info):
    if FAULT_HOOK is not None:
        FAULT_HOOK(step, info)


def _collection_names(db):
    return set(db.list_collection_names())


def _rename(db, source, target, drop_target=False):
    if drop_target:
        db[source].rename(target, dropTarget=True)
    else:
        db[source].rename(target)


class _Swapper:
    """Finishes or undoes one journal item, from what exists, one journaled step at a time."""

    def __init__(self, client, drop_target=True):
        self.client = client
        # Try the atomic rename until the server refuses it once.
        self.drop_target = drop_target
        self.method = "atomic" if drop_target else "journaled"

    def _step(self, db, item, state):
        db[JOURNAL].update_one({"_id": item["_id"]}, {"$set": {"state": state, "at": utc_now()}})
        item["state"] = state

    def finish(self, db, item):
        """Swap the staging collection in; returns what was done."""
        target, staging, aside = item["target"], item["staging"], item["aside"]
        names = _collection_names(db)
        info = {"database": db.name, "collection": target}
        if staging in names:
            if target in names and aside in names:
                raise RestoreError(
                    "Database %s holds %s, its staging collection %s and the set-aside %s at "
                    "once, which no step of a restore leaves; something else wrote there. "
                    "Keep the collection you want, drop the others and the journal entry in %s."
                    % (db.name, target, staging, aside, JOURNAL)
                )
            if target in names and self.drop_target:
                try:
                    _rename(db, staging, target, drop_target=True)
                    _fault("swapped_in", **info)
                    self.method = "atomic"
                    return "replaced"
                except pymongo.errors.OperationFailure as exc:
                    if exc.code not in DROP_TARGET_REFUSED and "dropTarget" not in str(exc):
                        raise
                    self.drop_target = False
                    self.method = "journaled"
            if target in names:
                self._step(db, item, "aside")
                _rename(db, target, aside)
                _fault("aside", **info)
                names.add(aside)
            self._step(db, item, "swapping")
            _rename(db, staging, target)
            _fault("swapped_in", **info)
        if aside in names:
            if target in _collection_names(db):
                self._step(db, item, "dropping")
                db.drop_collection(aside)
                _fault("dropped_aside", **info)
                return "replaced"
            # The staging collection is gone but the target too: put the old data back.
            _rename(db, aside, target)
            return "restored_previous"
        return "replaced" if item.get("had_target") else "created"

    def undo(self, db, item):
        """Drop the staging collection and put a set-aside target back."""
        target, staging, aside = item["target"], item["staging"], item["aside"]
        names = _collection_names(db)
        if staging in names:
            db.drop_collection(staging)
        if aside in names:
            if target in names:
                raise RestoreError(
                    "Database %s holds both %s and the set-aside %s of an unfinished restore "
                    "that was not committed; keep the one you want (the set-aside one holds the "
                    "data from before the restore), drop the other and the journal entry in %s."
                    % (db.name, target, aside, JOURNAL)
                )
            _rename(db, aside, target)
        return "rolled_back"


def recover(client, check_mode=False, drop_target=True, databases=None, lock=None):
    """Finish committed and roll back uncommitted restores whose run died: in ``databases``
    (and the other databases of the runs found there), or in every database.

    Each database is recovered under the restore lock: ``lock`` (a RestoreLock the caller
    holds and releases), or one of its own, released at the end. A database another restore
    holds is left alone (its runs are reported in_progress).

    Returns a list of {database, run, action, collections} (action: rolled_forward,
    rolled_back, in_progress, or with check_mode would_roll_forward / would_roll_back).
    """
    own_lock = lock is None and not check_mode
    if own_lock:
        lock = RestoreLock(client)
    try:
        return _recover(client, check_mode, drop_target, databases, lock)
    finally:
        if own_lock:
            lock.release()


def _recover(client, check_mode, drop_target, databases, lock):
    results = []
    swapper = _Swapper(client, drop_target=drop_target)
    pending = pending_journals(client, databases)
    if databases is not None:
        # A run journals in every database it restores into, and its coordinator's run
        # document is the commit record: a run's databases are recovered together.
        looked = set(databases)
        while True:
            more = sorted(
                {
                    d
                    for found in pending.values()
                    for r in found["runs"]
                    for d in r.get("databases") or []
                }
                - looked
            )
            if not more:
                break
            looked.update(more)
            pending.update(pending_journals(client, more))
    # Participants before coordinators: a coordinator's run document is the commit record.
    order = sorted(
        pending.items(),
        key=lambda kv: any(r.get("coordinator") == kv[0] for r in kv[1]["runs"]),
    )
    for dbname, found in order:
        db = client[dbname]
        runs = {r["run"]: r for r in found["runs"]}
        busy = False  # another restore holds the database: its runs are its own
        if lock is not None:
            try:
                lock.take(dbname)
            except RestoreLockError:
                busy = True
        by_run = {}
        for item in found["items"]:
            by_run.setdefault(item.get("run"), []).append(item)
        for run_id in sorted(set(runs) | set(by_run), key=str):
            run = runs.get(run_id) or {"_id": "run-%s" % run_id, "run": run_id}
            items = sorted(by_run.get(run_id, []), key=lambda i: i.get("n", 0))
            collections = [i["target"] for i in items]
            if busy or (run_id in runs and run_alive(run)):
                results.append(_recovery(dbname, run_id, "in_progress", collections))
                continue
            committed = run_committed(client, run)
            if check_mode:
                action = "would_roll_forward" if committed else "would_roll_back"
                results.append(_recovery(dbname, run_id, action, collections))
                continue
            for item in items:
                if committed:
                    swapper.finish(db, item)
                else:
                    swapper.undo(db, item)
                db[JOURNAL].delete_one({"_id": item["_id"]})
            db[JOURNAL].delete_one({"_id": run["_id"]})
            action = "rolled_forward" if committed else "rolled_back"
            results.append(_recovery(dbname, run_id, action, collections))
    return results


def _recovery(db, run, action, collections):
    return {"database": db, "run": run, "action": action, "collections": collections}


# --- planning -----------------------------------------------------------------------------------


def _index_specs(indexes):
    """Index documents to create: without _id_ and without descriptive fields."""
    specs = []
    for index in indexes:
        if index.get("name") == "_id_":
            continue
        spec = SON()
        for key, value in index.items():
            if key not in _INDEX_NOISE:
                spec[key] = value
        specs.append(spec)
    return specs


def _index_signature(indexes):
    signature = {}
    for index in indexes:
        spec = {k: v for k, v in index.items() if k not in _INDEX_NOISE}
        spec["key"] = list(dict(index.get("key") or {}).items())
        signature[index.get("name")] = spec
    return signature


def _raw_sha256(collection):
    sha = hashlib.sha256()
    count = 0
    for batch in collection.find_raw_batches():
        sha.update(batch)
        count += len(split_documents(batch, "collection %s" % collection.full_name))
    return count, sha.hexdigest()


def _check_target(namespace, source, flavor):
    if "." not in namespace:
        raise RestoreError(
            "Namespace %s (from %s) has no database part; ns_to must give db.collection "
            "(for example dev.*)." % (namespace, source)
        )
    db, coll = namespace.split(".", 1)
    if not is_valid_database_name(db):
        raise RestoreError(
            "Target database %r (from %s) is not a valid MongoDB database name; fix `ns_to`."
            % (db, source)
        )
    if not coll or "$" in coll or "\x00" in coll or coll.startswith("system."):
        raise RestoreError(
            "Target collection %r (from %s) is not a valid collection name; fix `ns_to`."
            % (coll, source)
        )
    if coll.startswith(RESERVED_PREFIX):
        raise RestoreError(
            "Target collection %r (from %s) starts with %s, which the restore reserves for its "
            "own collections; rename it with ns_from/ns_to." % (coll, source, RESERVED_PREFIX)
        )
    if flavor == "ferretdb" and "." in coll:
        raise RestoreError(
            "Target collection %r (from %s) contains a dot, which FerretDB does not allow in "
            "collection names; rename it with ns_from/ns_to." % (coll, source)
        )
    return db, coll


class _Item:
    def __init__(self, entry, db, coll):
        self.entry = entry
        self.db = db
        self.coll = coll
        self.action = None
        self.previous = None
        self.inserted = 0
        self.duplicates = 0
        self.staging = None
        self.aside = None
        self.journal_id = None
        self.indexes = [i.get("name") for i in entry.indexes if i.get("name")]

    def as_dict(self):
        return {
            "source": self.entry.namespace,
            "namespace": "%s.%s" % (self.db, self.coll),
            "database": self.db,
            "collection": self.coll,
            "action": self.action,
            "documents": self.entry.documents,
            "previous_documents": self.previous,
            "inserted": self.inserted,
            "duplicates_skipped": self.duplicates,
            "indexes": self.indexes,
        }


def select(inventory, ns_include=None, ns_exclude=None, ns_from=None, ns_to=None, flavor="mongodb"):
    """The items to restore (source and target, no action yet) and the skipped sources."""
    include = NamespaceMatcher(ns_include or ["*"], "ns_include")
    exclude = NamespaceMatcher(ns_exclude or [], "ns_exclude")
    rename = NamespaceRenamer(ns_from, ns_to)
    items = []
    skipped = []
    targets = {}
    for entry in inventory.collections:
        source = entry.namespace
        if not include(source) or exclude(source):
            skipped.append({"source": source, "reason": "not included"})
            continue
        db, coll = _check_target(rename(source), source, flavor)
        key = (db, coll)
        if key in targets:
            raise RestoreError(
                "Both %s and %s would be restored into %s.%s; change ns_from/ns_to or "
                "ns_exclude so that each target gets one source." % (targets[key], source, db, coll)
            )
        targets[key] = source
        items.append(_Item(entry, db, coll))
    return items, skipped


def plan(client, items, restore_mode="drop", force=False):
    """Give each item its action; reads the targets, writes nothing."""
    names_by_db = {}
    for item in items:
        names = names_by_db.get(item.db)
        if names is None:
            names = names_by_db[item.db] = _collection_names(client[item.db])
        target = client[item.db][item.coll]
        if item.coll not in names:
            item.action = "create"
            continue
        item.previous = document_count(target)
        if restore_mode == "merge":
            item.action = "merge"
            continue
        item.action = "replace"
        if not force and item.previous == item.entry.documents:
            current = _index_signature(list(target.list_indexes()))
            wanted = _index_signature(item.entry.indexes)
            if "_id_" not in wanted and "_id_" in current:
                wanted["_id_"] = current["_id_"]
            if current == wanted and _raw_sha256(target) == (
                item.entry.documents,
                item.entry.sha256,
            ):
                item.action = "unchanged"


# --- the restore --------------------------------------------------------------------------------


class _Loader:
    """Inserts raw documents into the staging collections, batch by batch."""

    def __init__(self, client, restore_mode):
        self.client = client
        self.merge = restore_mode == "merge"

    def insert(self, item, docs):
        """Insert a list of RawBSONDocuments into the item's staging collection."""
        if not docs:
            return
        coll = self.client[item.db][item.staging]
        try:
            coll.insert_many(docs, ordered=not self.merge)
            # insert_many reports no ids for raw documents: all of them went in.
            item.inserted += len(docs)
        except pymongo.errors.BulkWriteError as exc:
            details = exc.details or {}
            errors = details.get("writeErrors", [])
            item.inserted += details.get("nInserted", 0)
            others = [e for e in errors if e.get("code") != DUPLICATE_KEY]
            if others or not self.merge:
                first = (others or errors or [{}])[0]
                raise RestoreError(
                    "MongoDB refused a document of %s while restoring it into %s.%s: %s (code "
                    "%s); the restore was undone and nothing was replaced. If the server is "
                    "FerretDB, it does not store Decimal128, MinKey, MaxKey, JavaScript code, NaN, "
                    "arrays inside arrays or $-prefixed keys: restore into MongoDB instead."
                    % (
                        item.entry.namespace,
                        item.db,
                        item.coll,
                        first.get("errmsg", "unknown error"),
                        first.get("code"),
                    )
                ) from exc
            item.duplicates += len(errors)
        except pymongo.errors.ConnectionFailure as exc:
            raise RestoreError(
                "The server closed the connection while storing documents of %s into %s.%s "
                "(%s); nothing was replaced, and what was staged is dropped now or, if the "
                "server is down, by the next run. FerretDB closes the connection on documents "
                "it cannot store (Decimal128, MinKey, MaxKey, JavaScript code, NaN, arrays "
                "inside arrays, $-prefixed keys): restore such data into MongoDB instead; "
                "otherwise check that the server is up and run the restore again."
                % (item.entry.namespace, item.db, item.coll, _errmsg(exc))
            ) from exc

    def copy_existing(self, item):
        """Merge mode: the staging collection starts as a copy of the target."""
        source = self.client[item.db][item.coll]
        for batch in source.find_raw_batches():
            docs = raw_documents(batch, split_documents(batch, "collection %s" % source.full_name))
            self.client[item.db][item.staging].insert_many(docs, ordered=True)


def _documents(chunks):
    """(entry, [RawBSONDocument], bytes) for the (entry, chunk, offsets) of iter_chunks: run in
    the prefetch thread, so the main thread only sends."""
    for entry, chunk, offsets in chunks:
        if offsets:
            out = [(entry, raw_documents(chunk, offsets), len(chunk))]
            # The chunk is copied into the documents: not kept alive while this generator
            # waits for room (a suspended generator keeps its locals).
            del chunk
            yield out.pop()


def _create_staging(client, item, restore_mode):
    db = client[item.db]
    if restore_mode == "merge" and item.action == "merge":
        info = next(iter(db.list_collections(filter={"name": item.coll})), {}) or {}
        options = dict(info.get("options") or {})
    else:
        options = item.entry.options
    command = SON([("create", item.staging)])
    for key, value in options.items():
        if key not in _OPTION_NOISE:
            command[key] = value
    try:
        db.command(command)
    except pymongo.errors.OperationFailure as exc:
        raise RestoreError(
            "MongoDB refused to create a collection for %s with the dump's options %s (%s); "
            "the restore was undone and nothing was replaced. Remove the options the server "
            "does not support from %s, or restore into a server that has them."
            % (item.entry.namespace, sorted(options), _errmsg(exc), item.entry.metadata_path)
        ) from exc


def _create_indexes(client, item, indexes):
    specs = _index_specs(indexes)
    if not specs:
        return
    try:
        client[item.db].command(SON([("createIndexes", item.staging), ("indexes", specs)]))
    except pymongo.errors.OperationFailure as exc:
        raise RestoreError(
            "MongoDB refused the indexes of %s (%s); the restore was undone and nothing was "
            "replaced. Fix the index definitions in the dump's metadata, or restore into a "
            "server that supports them." % (item.entry.namespace, _errmsg(exc))
        ) from exc


def _errmsg(exc):
    details = getattr(exc, "details", None) or {}
    text = details.get("errmsg") or str(exc).split(", full error:")[0]
    # pymongo's network errors go on with timeouts and the whole topology.
    return re.split(r" \(configured timeouts|, Timeout: ", text)[0]


def restore(
    client,
    src,
    restore_mode="drop",
    ns_include=None,
    ns_exclude=None,
    ns_from=None,
    ns_to=None,
    force=False,
    check_mode=False,
    capabilities=None,
):
    """Verify ``src``, then restore it; returns the result dictionary of the module."""
    capabilities = capabilities or {}
    flavor = capabilities.get("flavor", "mongodb")
    drop_target = capabilities.get("rename_drop_target", True)

    source = open_source(src)
    inventory = source.scan()  # verifies everything; raises ArchiveError, writes nothing
    items, skipped = select(inventory, ns_include, ns_exclude, ns_from, ns_to, flavor)
    if not items:
        raise RestoreError(
            "%s holds no collection to restore%s; check `src`, `ns_include` and `ns_exclude`."
            % (src, " after ns_include/ns_exclude" if skipped else "")
        )
    # One restore at a time per database: the lock is taken before anything is looked at, and
    # given back whatever happens (check mode only reads, and takes none).
    lock = None if check_mode else RestoreLock(client, src=src)
    if lock is not None:
        lock.take_all({i.db for i in items})
    try:
        result = _restore_locked(
            client, source, inventory, items, restore_mode, force, check_mode, drop_target, lock
        )
    finally:
        if lock is not None:
            lock.release()
    result["skipped"] = skipped + result["skipped"]
    result["lock"] = {"took_over": lock.took_over if lock is not None else []}
    return result


def _restore_locked(
    client, source, inventory, items, restore_mode, force, check_mode, drop_target, lock
):
    # An interrupted restore into the databases this one writes to is finished or undone
    # before their collections are looked at. Only those databases: another database is not
    # this restore's to touch (recover: true does them all), and listing every database is
    # slow on FerretDB (it sizes each: a second with 500 MB).
    recovered = recover(
        client,
        check_mode=check_mode,
        drop_target=drop_target,
        databases=sorted({i.db for i in items}),
        lock=lock,
    )
    plan(client, items, restore_mode=restore_mode, force=force)
    work = [i for i in items if i.action != "unchanged"]
    result = {
        "changed": bool(work) or any(r["action"] != "in_progress" for r in recovered),
        "source": inventory.as_dict(),
        "collections": [i.as_dict() for i in items],
        "skipped": [{"source": s["path"], "reason": s["reason"]} for s in inventory.skipped],
        "recovered": recovered,
        "swap_method": None,
        "documents": sum(i.entry.documents for i in work),
    }
    if check_mode or not work:
        return result

    swapper = _Swapper(client, drop_target=drop_target)
    _fix_mmap_threshold()
    # The run's journal carries the lock's token: the run is alive while its lock is held.
    _execute(client, source, work, restore_mode, swapper, uuid.uuid4().hex[:16], lock.token)
    result["collections"] = [i.as_dict() for i in items]
    result["swap_method"] = swapper.method
    result["changed"] = any(i.action != "unchanged" for i in items) or any(
        r["action"] != "in_progress" for r in recovered
    )
    return result


def _fix_mmap_threshold():
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def _execute(client, source, work, restore_mode, swapper, run_id, token):
    """Load every item of ``work`` into its staging collection, commit, and swap them in;
    each step journaled, so a run stopped anywhere is finished or undone by the next."""
    dbs = []
    for item in work:
        if item.db not in dbs:
            dbs.append(item.db)
    coordinator = dbs[0]
    run_doc_id = "run-%s" % run_id
    committed = False
    try:
        _journal_run(client, dbs, run_doc_id, run_id, token)
        _stage(client, work, restore_mode, run_id)
        loader = _Loader(client, restore_mode)
        _copy_merged(client, loader, work)
        _load(source, work, loader)
        _check_staged(client, work)
        # Merge that added nothing: nothing to swap.
        for item in work:
            if item.action == "merge" and item.inserted == 0 and not _new_indexes(client, item):
                item.action = "unchanged"
        # The commit point: from here on the restore is finished, never undone.
        client[coordinator][JOURNAL].update_one(
            {"_id": run_doc_id}, {"$set": {"state": "committed", "committed": utc_now()}}
        )
        committed = True
        _fault("committed", database=coordinator)
    except Exception as exc:
        if not committed:
            _undo(client, work, dbs, run_doc_id)
        if isinstance(exc, pymongo.errors.ConnectionFailure):
            raise RestoreError(
                "The connection to MongoDB was lost while the restore was loading into %s, "
                "before it was committed (%s); nothing was replaced. What it staged is dropped "
                "by the next restore into %s, or by recover: true: once the server answers "
                "again, run the restore again." % (", ".join(dbs), _errmsg(exc), dbs[0])
            ) from exc
        raise
    _swap_in(client, work, dbs, run_doc_id, swapper)


def _journal_run(client, dbs, run_doc_id, run_id, token):
    """The run's document in the journal of every database it restores into; the first
    database's (the coordinator's) is its commit record."""
    for dbname in dbs:
        client[dbname][JOURNAL].insert_one(
            {
                "_id": run_doc_id,
                "kind": "run",
                "run": run_id,
                "state": "loading",
                "coordinator": dbs[0],
                "databases": dbs,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "token": token,
                "started": utc_now(),
            }
        )


def _stage(client, work, restore_mode, run_id):
    """Per item: its names (staging, set-aside), its journal entry, its staging collection."""
    for n, item in enumerate(work):
        item.staging = "%sstaging_%s_%d" % (RESERVED_PREFIX, run_id, n)
        item.aside = "%saside_%s_%d" % (RESERVED_PREFIX, run_id, n)
        item.journal_id = "item-%s-%d" % (run_id, n)
        client[item.db][JOURNAL].insert_one(
            {
                "_id": item.journal_id,
                "kind": "item",
                "run": run_id,
                "n": n,
                "target": item.coll,
                "staging": item.staging,
                "aside": item.aside,
                "mode": restore_mode,
                "had_target": item.action in ("replace", "merge"),
                "state": "loading",
                "at": utc_now(),
            }
        )
        _create_staging(client, item, restore_mode)


def _copy_merged(client, loader, work):
    """Merge mode: a staging collection starts as a copy of its target, with the target's
    indexes and the dump's others."""
    for item in work:
        if item.action == "merge":
            loader.copy_existing(item)
            current = list(client[item.db][item.coll].list_indexes())
            names = {i.get("name") for i in current}
            _create_indexes(
                client,
                item,
                current + [i for i in item.entry.indexes if i.get("name") not in names],
            )
            item.indexes = sorted(names | set(item.indexes))


def _load(source, work, loader):
    """The dump's documents into the staging collections, in inserts of up to INSERT_BYTES,
    read ahead (AHEAD_BYTES) while the server stores the last."""
    by_entry = {id(i.entry): i for i in work}
    chunks = source.iter_chunks([i.entry for i in work])
    batch, batch_bytes, batch_item = [], 0, None
    # The first insert leaves with the first chunk: the server has nothing to do until
    # then. The others as soon as no further chunk would fit.
    limit = CHUNK_SIZE
    for entry, docs, size in prefetch(_documents(chunks), itemgetter(2), AHEAD_BYTES):
        item = by_entry[id(entry)]
        if batch and item is not batch_item:
            loader.insert(batch_item, batch)
            batch, batch_bytes = [], 0
        batch.extend(docs)
        batch_bytes += size
        batch_item = item
        if batch_bytes + CHUNK_SIZE > limit:
            loader.insert(batch_item, batch)
            batch, batch_bytes = [], 0
            limit = INSERT_BYTES
    loader.insert(batch_item, batch)


def _check_staged(client, work):
    """Every document arrived; then the indexes, and the item journaled as staged."""
    for item in work:
        expected = item.entry.documents
        got = item.inserted + item.duplicates
        if got != expected:
            raise RestoreError(
                "%s.%s received %d of the %d documents of %s; the restore was undone and "
                "nothing was replaced." % (item.db, item.coll, got, expected, item.entry.namespace)
            )
        if item.action != "merge":
            _create_indexes(client, item, item.entry.indexes)
        client[item.db][JOURNAL].update_one(
            {"_id": item.journal_id}, {"$set": {"state": "staged", "at": utc_now()}}
        )
        _fault("staged", database=item.db, collection=item.coll)


def _swap_in(client, work, dbs, run_doc_id, swapper):
    """After the commit: every staging collection swapped in, the journal emptied (the
    coordinator's run document last)."""
    coordinator = dbs[0]
    try:
        for dbname in dbs:
            if dbname != coordinator:
                client[dbname][JOURNAL].update_one(
                    {"_id": run_doc_id}, {"$set": {"state": "committed"}}
                )
        for item in work:
            db = client[item.db]
            journal = db[JOURNAL].find_one({"_id": item.journal_id})
            if item.action == "unchanged":
                db.drop_collection(item.staging)
            else:
                swapper.finish(db, journal)
                item.action = {"create": "created", "replace": "replaced", "merge": "merged"}[
                    item.action
                ]
            db[JOURNAL].delete_one({"_id": item.journal_id})
        for dbname in sorted(dbs, key=lambda d: d == coordinator):
            client[dbname][JOURNAL].delete_one({"_id": run_doc_id})
    except pymongo.errors.PyMongoError as exc:
        raise RestoreError(
            "The restore was committed but swapping the collections in stopped (%s); nothing "
            "is lost, the journal in %s records where it stopped: run the restore again, or "
            "with recover: true, to finish it." % (_errmsg(exc), JOURNAL)
        ) from exc


def _new_indexes(client, item):
    target = {i.get("name") for i in client[item.db][item.coll].list_indexes()}
    staged = {i.get("name") for i in client[item.db][item.staging].list_indexes()}
    return bool(staged - target)


def _undo(client, work, dbs, run_doc_id):
    """Before the commit: drop what the run staged and forget it (best effort; what cannot be
    done now stays in the journal for the next run)."""
    try:
        for item in work:
            if item.staging is None:
                continue
            db = client[item.db]
            db.drop_collection(item.staging)
            db[JOURNAL].delete_one({"_id": item.journal_id})
        for dbname in dbs:
            client[dbname][JOURNAL].delete_one({"_id": run_doc_id})
    except pymongo.errors.PyMongoError:
        pass


__all__ = [
    "FAULT_HOOK",
    "JOURNAL",
    "RestoreError",
    "RestoreLock",
    "RestoreLockError",
    "pending_journals",
    "plan",
    "select",
    "recover",
    "restore",
    "running_restore",
]
