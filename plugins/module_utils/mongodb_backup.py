# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Back up MongoDB into a verified gzip tarball in mongodump's directory layout.

The documents are streamed from the server as raw BSON batches (``find_raw_batches``) into
the tarball, never decoded, so memory stays bounded whatever the size of a collection: the
main thread waits on the server while a writer thread compresses and hashes (zlib and
hashlib release the GIL). The tarball is written under a hidden temporary name
(``.<name>.<pid>.<token>.partial``), checked, and renamed to its final name only when it
is complete: a failed or killed backup leaves nothing that looks like a good one, and the
next run removes what a killed one left.
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import re
import threading
import uuid

from ansible_collections.vhvcorp.devtools.plugins.module_utils._errors import DevtoolsError
from ansible_collections.vhvcorp.devtools.plugins.module_utils._namespaces import NamespaceMatcher

try:
    import pymongo
    import pymongo.errors
except ImportError:  # pragma: no cover - the module reports a missing pymongo first
    pymongo = None

from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_bson import split_documents
from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_format import (
    DEFAULT_COMPRESSION_LEVEL,
    ArchiveError,
    is_plain_collection,
    is_system_collection,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_readers import open_source
from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_write_backup import (
    BackupCollection,
    TarballWriter,
    write_backup,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._migration_lock import (
    holder_noun,
    running_migration,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._restore_journal import (
    JOURNAL,
    RESERVED_PREFIX,
    RestoreError,
    pending_journals,
    running_restore,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._time import utc_now, when
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb import document_count

DEFAULT_NAME = "mongodb-%Y-%m-%d.tar.gz"
SYSTEM_DATABASES = ("admin", "config", "local")
PARTIAL_RE = re.compile(r"^\.(?P<final>.+)\.(?P<pid>\d+)\.(?P<token>[0-9a-f]{8})\.partial$")
# Raw batches in flight between the cursor and the writer thread, and their aimed size.
QUEUE_DEPTH = 2
BATCH_BYTES = 16 * 1024 * 1024
# The writer thread flushes what it wrote to disk every this many bytes: it has time to
# spare while the server is the bottleneck, and the fsync before the rename is then short.
SYNC_BYTES = 32 * 1024 * 1024
# Documents read first to size the batches (see _batch_size).
SAMPLE_DOCUMENTS = 16
# mongodb_migrate's lock and records (its lock_collection and collection by default).
MIGRATION_LOCKS = "migrations_lock"
MIGRATION_RECORDS = "migrations"
# The errors of a disk (or a quota) with no room left.
DISK_FULL = frozenset((errno.ENOSPC, errno.EDQUOT))


class BackupError(DevtoolsError):
    """A refusal or failure whose message is one actionable sentence."""


def backup_name(pattern, now):
    """The file name for ``pattern`` (strftime codes, UTC) at ``now``, checked."""
    try:
        name = now.strftime(pattern)
    except ValueError as exc:
        raise BackupError(
            "Option `name` is %r, which strftime rejects (%s)." % (pattern, exc)
        ) from exc
    if "/" in name or name.startswith(".") or not name.endswith(".tar.gz") or name == ".tar.gz":
        raise BackupError(
            "Option `name` is %r, which gives %r; give a file name (no directory, not starting "
            "with a dot) ending in .tar.gz, such as mongodb-%%Y-%%m-%%d.tar.gz." % (pattern, name)
        )
    return name


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_partials(dest, check_mode=False):
    """Remove the temporary files of backups whose process is gone; returns their paths."""
    removed = []
    try:
        names = os.listdir(dest)
    except FileNotFoundError:
        return removed
    for name in sorted(names):
        match = PARTIAL_RE.match(name)
        if not match or _pid_alive(int(match.group("pid"))):
            continue
        path = os.path.join(dest, name)
        if not check_mode:
            try:
                os.unlink(path)
            except FileNotFoundError:
                continue
        removed.append(path)
    return removed


def _database_collections(client, databases, excluded):
    """(database, its collections' infos) for the named ``databases`` (BackupError if one
    does not exist), or for every database but the server's own; not the ``excluded``."""
    if not databases:
        for dbname in sorted(client.list_database_names()):
            if dbname not in SYSTEM_DATABASES and dbname not in excluded:
                yield dbname, client[dbname].list_collections()
        return
    # listDatabases is slow on some servers (FerretDB sizes every database: 0.2-0.3 s), so
    # named databases are looked at directly; only one with no collection at all may be
    # missing, and only then is the server asked which databases it has.
    listed = {}
    for dbname in databases:
        try:
            listed[dbname] = list(client[dbname].list_collections())
        except pymongo.errors.InvalidName:
            listed[dbname] = []
    existing = []
    if any(not infos for infos in listed.values()):
        existing = client.list_database_names()
    missing = [d for d in databases if not listed[d] and d not in existing]
    if missing:
        raise BackupError(
            "Option `databases` names %s, which the server does not have (it has: %s); fix "
            "the name, or seed the database first."
            % (", ".join(repr(d) for d in missing), ", ".join(sorted(existing)) or "none")
        )
    for dbname in databases:
        if dbname not in excluded:
            yield dbname, listed[dbname]


def select_collections(
    client, databases=None, exclude_databases=None, ns_include=None, ns_exclude=None
):
    """[{db, name, options, uuid, type}] of the collections to back up, and the skipped ones;
    BackupError when there is none."""
    include = NamespaceMatcher(ns_include or ["*"], "ns_include")
    exclude = NamespaceMatcher(ns_exclude or [], "ns_exclude")
    excluded = set(exclude_databases or [])
    selected = []
    skipped = []
    for dbname, infos in _database_collections(client, databases, excluded):
        for info in sorted(infos, key=lambda i: i["name"]):
            name = info["name"]
            ns = "%s.%s" % (dbname, name)
            kind = info.get("type", "collection")
            if is_system_collection(name) or name.startswith(RESERVED_PREFIX):
                continue
            if not is_plain_collection(kind):
                skipped.append({"namespace": ns, "reason": "%s is not backed up" % kind})
                continue
            if not include(ns) or exclude(ns):
                continue
            raw_uuid = (info.get("info") or {}).get("uuid")
            uuid_hex = None
            if raw_uuid is not None and getattr(raw_uuid, "subtype", None) == 4:
                uuid_hex = bytes(raw_uuid).hex()
            selected.append(
                {
                    "db": dbname,
                    "name": name,
                    "options": dict(info.get("options") or {}),
                    "uuid": uuid_hex,
                    "type": kind,
                }
            )
    if not selected:
        raise BackupError(
            "Nothing to back up: the selected databases (%s) hold no collection that "
            "`ns_include`/`ns_exclude` let through; check `databases`, `exclude_databases`, "
            "`ns_include` and `ns_exclude`." % (", ".join(databases or []) or "all")
        )
    return selected, skipped


class _Pipeline:
    """Raw batches from the cursor to a writer thread, which frames, compresses and hashes."""

    def __init__(self, member, where):
        self.member = member
        self.where = where
        self.queue = queue.Queue(maxsize=QUEUE_DEPTH)
        self.documents = 0
        self.error = None
        self.thread = threading.Thread(target=self._run, name="backup-writer", daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while True:
                batch = self.queue.get()
                if batch is None:
                    return
                self.documents += len(split_documents(batch, self.where))
                self.member.write(batch)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self.error = exc
            while self.queue.get() is not None:  # let the producer finish or stop
                pass

    def put(self, batch):
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.queue.put(batch, timeout=0.5)
                return
            except queue.Full:
                continue

    def close(self):
        self.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def abort(self):
        while self.thread.is_alive():
            try:
                self.queue.put(None, timeout=0.5)
                break
            except queue.Full:
                continue
        self.thread.join()


def _server_info(client, capabilities):
    capabilities = capabilities or {}
    version = capabilities.get("version")
    if not version:
        version = client.admin.command("buildInfo").get("version", "unknown")
    return {
        "version": version,
        "flavor": capabilities.get("flavor"),
        "ferretdb_version": capabilities.get("ferretdb_version"),
    }


def run_backup(
    client,
    dest,
    name=DEFAULT_NAME,
    compression_level=DEFAULT_COMPRESSION_LEVEL,
    verify="quick",
    databases=None,
    exclude_databases=None,
    ns_include=None,
    ns_exclude=None,
    check_mode=False,
    now=None,
    batch_size=None,
    capabilities=None,
):
    """Write a backup of the selected collections into ``dest``; returns the module result."""
    now = now or utc_now()
    final_name = backup_name(name, now)
    _check_options(compression_level, dest)
    path = os.path.join(dest, final_name)
    selected, skipped = select_collections(
        client, databases, exclude_databases, ns_include, ns_exclude
    )
    dbs = sorted({c["db"] for c in selected})
    settled = _settled_state(client, dbs)  # first: a running restore has a journal too
    _refuse_pending_restores(client, dbs)
    server = _server_info(client, capabilities)
    result = {
        "changed": True,
        "path": path,
        "size": None,
        "created": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "server_version": server["version"],
        "databases": dbs,
        "collections": [],
        "documents": 0,
        "skipped": skipped,
        "replaced": os.path.exists(path),
        "removed_partials": remove_stale_partials(dest, check_mode=check_mode),
        "verified": verify,
    }
    if check_mode:
        collections = [_planned(client, spec) for spec in selected]
    else:
        manifest = _write_and_keep(
            dest,
            final_name,
            _collections(client, selected, batch_size),
            server,
            created=result["created"],
            compression_level=compression_level,
            mtime=now.timestamp(),
            verify=verify,
            before_keep=lambda: _refuse_if_migrated(client, dbs, settled),
        )
        result["size"] = os.path.getsize(path)
        collections = [
            {k: v for k, v in c.items() if k not in ("bson", "metadata")}
            for c in manifest["collections"]
        ]
    result["collections"] = collections
    result["documents"] = sum(c["documents"] for c in collections)
    return result


def _check_options(compression_level, dest):
    if not 1 <= int(compression_level) <= 9:
        raise BackupError(
            "Option `compression_level` is %r; give 1 (fastest) to 9 (smallest)."
            % compression_level
        )
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise BackupError("Option `dest` is %r, which is not a directory; give a directory." % dest)


def _refuse_pending_restores(client, dbs):
    try:
        pending = pending_journals(client, dbs)
    except RestoreError as exc:  # pragma: no cover - defensive
        raise BackupError(str(exc)) from exc
    if pending:
        raise BackupError(
            "Database %s holds the journal (%s) of a restore that was interrupted, so part of "
            "its data may sit in a set-aside collection; run mongodb_restore with recover: "
            "true first, then back up." % (", ".join(sorted(pending)), JOURNAL)
        )


def _planned(client, spec):
    """Check mode: what the backup would hold of one collection."""
    coll = client[spec["db"]][spec["name"]]
    return {
        "database": spec["db"],
        "collection": spec["name"],
        "documents": document_count(coll),
        "bytes": None,
        "sha256": None,
        "indexes": [i["name"] for i in coll.list_indexes()],
    }


def _refuse_if_migrated(client, dbs, settled):
    if _settled_state(client, dbs) != settled:
        raise BackupError(
            "A migration ran on database %s while it was being backed up, so the backup "
            "may hold it half done; the backup was not kept (earlier backups are as they "
            "were): back up again once the migration has finished." % ", ".join(dbs)
        )


def _write_and_keep(
    dest, final_name, collections, server, created, compression_level, mtime, verify, before_keep
):
    """Write the backup under a temporary name in ``dest``, check it, call ``before_keep()``
    (which raises to refuse it) and rename it to ``final_name``; returns its manifest.
    Whatever fails, the temporary file is removed and nothing else is touched."""
    if not os.path.isdir(dest):
        os.makedirs(dest, mode=0o750, exist_ok=True)
    temp = os.path.join(dest, ".%s.%d.%s.partial" % (final_name, os.getpid(), uuid.uuid4().hex[:8]))
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w+b") as out:
            writer = TarballWriter(
                out, compresslevel=compression_level, mtime=mtime, sync_bytes=SYNC_BYTES
            )
            manifest = write_backup(writer, collections, server, created, feed=_feed_threaded)
            out.flush()
            os.fsync(out.fileno())
        writer.verify_file(temp)
        if verify == "full":
            _verify_full(temp, manifest["collections"])
        before_keep()
        os.replace(temp, os.path.join(dest, final_name))
        _fsync_dir(dest)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError) and exc.errno in DISK_FULL:
            raise BackupError(
                "The disk of `dest` %s%s is full (%s); the backup was not kept and nothing "
                "else was touched (its temporary file is removed, earlier backups are as they "
                "were): free space on that disk or choose another `dest`, then back up again."
                % (dest, _disk_size(dest), os.strerror(exc.errno))
            ) from exc
        raise
    return manifest


def _settled_state(client, dbs):
    """{database: [applied migrations]} of ``dbs``, or BackupError while a migration or a
    restore (mongodb_restore's lock) works on one of them.

    A backup taken while mongodb_migrate works would hold a database half migrated. It is
    refused, not waited for: a migration may hold its lock for its lock_ttl (10 minutes by
    default), a scheduled backup that hangs that long is worse than one that fails at once
    saying why, and the earlier backups stay as they are. Called before and after writing:
    a migration that started (or ran) meanwhile changes the records, and the backup is not
    kept.
    """
    state = {}
    for dbname in dbs:
        db = client[dbname]
        holder = running_restore(client, dbname)
        if holder is not None:
            raise BackupError(
                "A restore is writing to database %s (process %s, since %s UTC), so a backup "
                "now would hold it half restored; no backup was kept (earlier ones are as they "
                "were): back up again once it has finished."
                % (dbname, holder.get("owner"), holder.get("started"))
            )
        holder = running_migration(db, MIGRATION_LOCKS)
        if holder is not None:
            raise BackupError(
                "A %s is running on database %s (owner %s, lock held until %s UTC), so a "
                "backup now would hold it half done; no backup was kept (earlier ones are as "
                "they were): back up again once it has finished."
                % (holder_noun(holder), dbname, holder.get("owner"), when(holder["expires_at"]))
            )
        state[dbname] = [
            (r["_id"], r.get("applied_at"))
            for r in db[MIGRATION_RECORDS].find({}, {"applied_at": 1})
        ]
    return state


def _batch_size(coll, where):
    """Documents per cursor batch for batches of about BATCH_BYTES, from the average size of
    the collection's first SAMPLE_DOCUMENTS documents; None (the server's choice) when it is
    empty.

    Servers fill a batch up to 16 MiB or more (FerretDB: 25 MB), and the driver holds a few
    copies of one while it arrives: smaller batches keep memory bounded at the same speed.
    The server's own cap still bounds a batch when later documents are larger than the first.
    A sample, not collStats: FerretDB sizes the whole collection for that (0.5 s on 500 MB).
    """
    count = size = 0
    for batch in coll.find_raw_batches(limit=SAMPLE_DOCUMENTS, batch_size=SAMPLE_DOCUMENTS):
        count += len(split_documents(batch, where))
        size += len(batch)
    if not count:
        return None
    return max(1, min(100_000, BATCH_BYTES * count // size))


def _collections(client, selected, batch_size):
    """BackupCollections whose batches come straight from the server's cursors."""
    for spec in selected:
        coll = client[spec["db"]][spec["name"]]
        size = batch_size or _batch_size(coll, "collection %s.%s" % (spec["db"], spec["name"]))
        yield BackupCollection(
            spec["db"],
            spec["name"],
            coll.find_raw_batches(**({"batch_size": size} if size else {})),
            indexes=list(coll.list_indexes()),
            options=spec["options"],
            uuid=spec["uuid"],
            collection_type=spec["type"],
        )


def _feed_threaded(member, batches, where):
    pipe = _Pipeline(member, where)
    try:
        for batch in batches:
            pipe.put(batch)
        pipe.close()
    except BaseException:
        pipe.abort()
        raise
    return pipe.documents


def _verify_full(path, collections):
    try:
        inventory = open_source(path).scan()
    except ArchiveError as exc:
        raise BackupError(
            "The backup just written does not verify (%s); it was not kept. Check the disk of "
            "`dest`." % exc
        ) from exc
    found = {c.namespace: c.documents for c in inventory.collections}
    for item in collections:
        ns = "%s.%s" % (item["database"], item["collection"])
        if found.get(ns) != item["documents"]:
            raise BackupError(
                "The backup just written holds %s documents of %s, not %d; it was not kept."
                % (found.get(ns), ns, item["documents"])
            )


def _disk_size(path):
    """' (N MiB)' for the file system of ``path``, for messages; '' if it cannot be had."""
    try:
        stat = os.statvfs(path)
    except OSError:
        return ""
    return " (%.1f MiB)" % (stat.f_blocks * stat.f_frsize / 1048576.0)


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
