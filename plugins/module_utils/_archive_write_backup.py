# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing this collection's backup: mongodump's directory layout in a gzip tar, streamed.

``TarballWriter`` writes the tar member by member while the documents arrive (from a cursor,
never decoded), and ``write_backup`` lays out a whole backup through it: prelude.json, per
collection its metadata and documents under mongodump's names, and last ``manifest.json``
(tool and server versions, time, per collection the count and sha256, per file its size
and sha256), which the readers check.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tarfile
import time

from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_bson import (
    split_documents,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_format import (
    CHUNK_SIZE,
    DEFAULT_COMPRESSION_LEVEL,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    MANIFEST_VERSION,
    PRELUDE_NAME,
    TAR_BLOCK,
    TAR_RECORD,
    TOOL_NAME,
    TOOL_VERSION,
    ArchiveError,
    check_database_name,
    collection_file_base,
    crc32,
    gzip_compress,
    gzip_module,
    metadata_json,
    prelude_json,
)


class _CountingWriter:
    """Forwards writes to a file and checksums what passed (the bytes of one gzip member)."""

    def __init__(self, raw, sync_bytes=None):
        self.raw = raw
        self.crc = 0
        self.length = 0
        self._sync_bytes = sync_bytes
        self._unsynced = 0

    def write(self, data):
        self.raw.write(data)
        self.crc = crc32(data, self.crc)
        self.length += len(data)
        if self._sync_bytes:
            self._unsynced += len(data)
            if self._unsynced >= self._sync_bytes:
                self.raw.flush()
                os.fdatasync(self.raw.fileno())
                self._unsynced = 0
        return len(data)

    def flush(self):
        self.raw.flush()


class TarballWriter:
    """Writes a backup tarball (a tar inside gzip) to a seekable binary file, streaming.

    tarfile cannot stream a member whose size is only known once its data is written (the
    size sits in the header that precedes the data), and a collection is streamed from a
    cursor. So every part goes out as its own gzip member (concatenated gzip members are one
    gzip stream, RFC 1952 section 2.2; gzip, tar and Python read them as one): a member's
    header is first written as a stored (level 0) gzip member of a placeholder header, the
    data follows compressed as it arrives, and then the real header, whose stored gzip member
    has exactly the placeholder's length, is written over the placeholder. Nothing is copied
    or compressed twice, and memory stays bounded.

    Every gzip member written is remembered as (offset, length, crc32), so ``verify_file``
    can prove afterwards that the file on disk holds exactly these bytes. A CRC, not a
    digest: it guards against a failing disk or another writer, not an adversary (the
    manifest's sha256 of every member's content does that), and ISA-L computes it at several
    GB/s, where sha256 would add a tenth of a second per 200 MB to every backup's read-back.

    With ``sync_bytes``, a streamed member's data is flushed to disk (fdatasync) every that
    many bytes as it is written, so the caller's fsync at the end has little left to do.
    """

    def __init__(
        self, fileobj, compresslevel=DEFAULT_COMPRESSION_LEVEL, mtime=None, sync_bytes=None
    ):
        self._out = fileobj
        self._sync_bytes = sync_bytes
        self._level = int(compresslevel)
        self._mtime = int(time.time() if mtime is None else mtime)
        self._segments = []  # [offset, length, crc32]
        self._tar_offset = 0  # bytes of uncompressed tar written so far
        self.files = {}  # name -> {"size": int, "sha256": str}
        self._names = set()
        self._open_member = None
        self._closed = False

    # -- low level
    def _write_segment(self, data):
        offset = self._out.tell()
        self._out.write(data)
        self._segments.append([offset, len(data), crc32(data)])
        return len(self._segments) - 1

    def _tarinfo(self, name, size, directory=False):
        info = tarfile.TarInfo(name)
        info.size = 0 if directory else size
        info.mtime = self._mtime
        info.mode = 0o755 if directory else 0o644
        info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        # GNU format: a header's length depends on the name only (large sizes use base-256
        # in place), which lets the streamed members' headers be written over in place.
        return info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")

    def _check_name(self, name):
        if self._closed:
            raise ArchiveError("internal error: the tarball is already closed.")
        if self._open_member is not None:
            raise ArchiveError("internal error: member %s is still open." % self._open_member)
        if name in self._names:
            raise ArchiveError("internal error: member %s written twice." % name)
        self._names.add(name)

    # -- members
    def add_directory(self, name):
        name = name.rstrip("/") + "/"
        self._check_name(name)
        header = self._tarinfo(name, 0, directory=True)
        self._write_segment(gzip_compress(header, self._level))
        self._tar_offset += len(header)

    def add_bytes(self, name, data):
        """A whole member from bytes; returns {"size", "sha256"}."""
        self._check_name(name)
        header = self._tarinfo(name, len(data))
        pad = b"\0" * ((-len(data)) % TAR_BLOCK)
        self._write_segment(gzip_compress(header + data + pad, self._level))
        self._tar_offset += len(header) + len(data) + len(pad)
        info = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        self.files[name] = info
        return info

    def open_file(self, name):
        """A member streamed with ``write(bytes)``; ``close()`` returns {"size", "sha256"}."""
        self._check_name(name)
        member = _StreamedMember(self, name)
        self._open_member = name
        return member

    def close(self):
        """End of archive: two zero blocks, padded to a whole tar record, as tarfile does."""
        if self._open_member is not None:
            raise ArchiveError("internal error: member %s is still open." % self._open_member)
        if self._closed:
            return
        end = b"\0" * (2 * TAR_BLOCK)
        total = self._tar_offset + len(end)
        end += b"\0" * ((-total) % TAR_RECORD)
        self._write_segment(gzip_compress(end, self._level))
        self._tar_offset += len(end)
        self._out.flush()
        self._closed = True

    @property
    def size(self):
        if not self._segments:
            return 0
        offset, length, _ = self._segments[-1]
        return offset + length

    def verify_file(self, path):
        """Check that ``path`` holds exactly the bytes written (after fsync, before rename)."""
        expected = self.size
        actual = os.path.getsize(path)
        if actual != expected:
            raise ArchiveError(
                "%s is %d bytes after writing, not %d; the disk is full or failing: free space "
                "or choose another `dest`." % (path, actual, expected)
            )
        with open(path, "rb") as handle:
            for offset, length, crc in self._segments:
                handle.seek(offset)
                actual = 0
                left = length
                while left:
                    data = handle.read(min(left, CHUNK_SIZE))
                    if not data:
                        break
                    actual = crc32(data, actual)
                    left -= len(data)
                if left or actual != crc:
                    raise ArchiveError(
                        "%s reads back differently from what was written at byte %d; the disk "
                        "is failing or something else wrote to the file: choose another `dest`."
                        % (path, offset)
                    )


class _StreamedMember:
    def __init__(self, writer, name):
        self._writer = writer
        self._name = name
        self._header_len = len(writer._tarinfo(name, 0))
        placeholder = gzip.compress(b"\0" * self._header_len, compresslevel=0, mtime=0)
        self._header_segment = writer._write_segment(placeholder)
        self._data_offset = writer._out.tell()
        self._counting = _CountingWriter(writer._out, writer._sync_bytes)
        self._gz = gzip_module(writer._level).GzipFile(
            filename="", mode="wb", compresslevel=writer._level, fileobj=self._counting, mtime=0
        )
        self._sha = hashlib.sha256()
        self.size = 0

    def write(self, data):
        if data:
            self._gz.write(data)
            self._sha.update(data)
            self.size += len(data)

    def close(self):
        writer = self._writer
        pad = (-self.size) % TAR_BLOCK
        if pad:
            self._gz.write(b"\0" * pad)
        self._gz.close()  # writes the gzip trailer; leaves the file open
        end = writer._out.tell()
        writer._segments.append([self._data_offset, self._counting.length, self._counting.crc])
        header = writer._tarinfo(self._name, self.size)
        if len(header) != self._header_len:
            raise ArchiveError("internal error: the tar header of %s changed length." % self._name)
        member = gzip.compress(header, compresslevel=0, mtime=0)
        segment = writer._segments[self._header_segment]
        if len(member) != segment[1]:
            raise ArchiveError(
                "internal error: the gzip header member of %s changed length." % self._name
            )
        writer._out.seek(segment[0])
        writer._out.write(member)
        writer._out.seek(end)
        segment[2] = crc32(member)
        writer._tar_offset += len(header) + self.size + pad
        writer._open_member = None
        info = {"size": self.size, "sha256": self._sha.hexdigest()}
        writer.files[self._name] = info
        return info


class BackupCollection:
    """One collection for ``write_backup``: what mongodump records about it, and its documents
    as an iterable of raw BSON bytes (whole documents, e.g. a cursor's raw batches)."""

    def __init__(
        self, db, name, batches, indexes=(), options=None, uuid=None, collection_type="collection"
    ):
        self.db = db
        self.name = name
        self.batches = batches
        self.indexes = list(indexes)
        self.options = dict(options or {})
        self.uuid = uuid
        self.type = collection_type


def _feed_inline(member, batches, where):
    count = 0
    for batch in batches:
        count += len(split_documents(batch, where))
        member.write(batch)
    return count


def write_backup(writer, collections, server, created, feed=_feed_inline):
    """Write a whole backup through a TarballWriter: prelude.json, per database a directory,
    per collection ``<db>/<file>.metadata.json`` then ``<db>/<file>.bson`` (mongodump's
    names), and last the manifest. ``feed(member, batches, where)`` writes one collection's
    batches into its member and returns the document count (the backup module passes one
    that works in a thread). Returns the manifest (a dict)."""
    writer.add_bytes(PRELUDE_NAME, prelude_json(server.get("version") or "unknown"))
    summary = []
    databases = set()
    for coll in collections:
        if coll.db not in databases:
            check_database_name(coll.db, "database %r" % coll.db)
            writer.add_directory(coll.db)
            databases.add(coll.db)
        base = "%s/%s" % (coll.db, collection_file_base(coll.name))
        writer.add_bytes(
            base + ".metadata.json",
            metadata_json(coll.name, coll.indexes, coll.options, coll.uuid, coll.type),
        )
        member = writer.open_file(base + ".bson")
        documents = feed(member, coll.batches, "collection %s.%s" % (coll.db, coll.name))
        info = member.close()
        summary.append(
            {
                "database": coll.db,
                "collection": coll.name,
                "documents": documents,
                "bytes": info["size"],
                "sha256": info["sha256"],
                "indexes": [i.get("name") for i in coll.indexes],
                "bson": base + ".bson",
                "metadata": base + ".metadata.json",
            }
        )
    manifest = {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_VERSION,
        "tool": TOOL_NAME,
        "tool_version": TOOL_VERSION,
        "created": created,
        "server": dict(server),
        "layout": "mongodump",
        "collections": summary,
        "files": dict(writer.files),
    }
    writer.add_bytes(
        MANIFEST_NAME, (json.dumps(manifest, indent=2, sort_keys=False) + "\n").encode("utf-8")
    )
    writer.close()
    return manifest
