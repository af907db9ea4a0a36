# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every reader of a dump gives: ``Source`` (verify with ``scan()``, then stream the
documents again with ``iter_chunks()``), the ``Inventory`` a scan returns with one
``CollectionEntry`` per collection, and the refusal of bytes after the end of an input
(a tar, an --archive or the gzip data around them)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import zlib

from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_format import (
    CHUNK_SIZE,
    GZIP_MAGIC,
    READ_ERRORS,
    ArchiveError,
)


class CollectionEntry:
    """One collection of a dump, as verified by ``scan()``."""

    def __init__(self, db, name):
        self.db = db
        self.name = name
        self.metadata = None  # parsed metadata document, or None
        self.metadata_path = None
        self.data_path = None  # where its BSON is, inside the source; None: metadata only
        self.documents = 0
        self.size = 0  # bytes of BSON
        self.sha256 = hashlib.sha256(b"").hexdigest()
        self.collection_type = "collection"

    @property
    def namespace(self):
        return "%s.%s" % (self.db, self.name)

    @property
    def indexes(self):
        return list((self.metadata or {}).get("indexes", []))

    @property
    def options(self):
        return dict((self.metadata or {}).get("options", {}))

    def as_dict(self):
        return {
            "database": self.db,
            "collection": self.name,
            "namespace": self.namespace,
            "documents": self.documents,
            "bytes": self.size,
            "sha256": self.sha256,
            "indexes": [i.get("name") for i in self.indexes],
        }


class Inventory:
    """What ``scan()`` found and verified."""

    def __init__(self, path, container):
        self.path = path
        self.container = container  # directory, tar, tar.gz, archive, archive.gz
        self.kind = "mongodump"  # or "backup": this collection's tarball, with a manifest
        self.collections = []
        self.server_version = None
        self.tool_version = None
        self.created = None
        self.manifest = None
        self.skipped = []  # [{"path": ..., "reason": ...}]

    def as_dict(self):
        return {
            "path": self.path,
            "format": self.kind,
            "container": self.container,
            "server_version": self.server_version,
            "tool_version": self.tool_version,
            "created": self.created,
            "collections": len(self.collections),
            "documents": sum(c.documents for c in self.collections),
            "skipped": list(self.skipped),
        }


# --- the end of the input ---------------------------------------------------------------------


def after_end(path, count, what, at, in_file):
    """The refusal of bytes after the end of a tar, an --archive or the gzip data around
    them. ``at`` is where they start: in the file (``in_file``, then cutting the file there
    leaves the input as it was written) or in the decompressed data."""
    if in_file:
        where = "from byte %d on" % at
        fix = ", or cut them off (truncate -s %d %s) if you know they were appended to a good one"
        fix %= (at, path)
    else:
        where = "from byte %d of the decompressed data on" % at
        fix = ""
    return ArchiveError(
        "%s has %d bytes after the end of its %s (%s), which no dump holds, so it is refused "
        "and nothing was restored: restore another backup%s." % (path, count, what, where, fix)
    )


def _gzip_end(path):
    """Walk the gzip members of ``path``: (the offset where its last whole member ends, what
    follows it: None (nothing, or zero bytes, which gzip readers skip), "junk" (bytes that
    are no gzip member) or "damaged" (a member that does not decompress to its end)).

    gzip readers raise at bytes after the last member without saying where it ended, and may
    raise there while a tar member is still read (they read ahead); zlib's decompressor says
    where (unused_data). This second decompression runs only for an input that failed to
    read, so its cost falls on refusals.
    """
    end = 0
    with open(path, "rb") as handle:
        while True:
            handle.seek(end)
            start = end
            while True:  # zero bytes between or after members are skipped, as gzip does
                data = handle.read(CHUNK_SIZE)
                rest = data.lstrip(b"\0")
                start += len(data) - len(rest)
                if rest or not data:
                    break
            if not rest:
                return end, None
            if (rest + handle.read(1))[:2] != GZIP_MAGIC:
                return end, "junk"
            handle.seek(start)
            inflate = zlib.decompressobj(31)
            offset = start
            while not inflate.eof:
                data = handle.read(CHUNK_SIZE)
                if not data:
                    return end, "damaged"
                offset += len(data)
                try:
                    while data and not inflate.eof:
                        inflate.decompress(data, CHUNK_SIZE)
                        data = inflate.unconsumed_tail
                except zlib.error:
                    return end, "damaged"
            end = offset - len(inflate.unused_data)


def junk_after_gzip(path):
    """The refusal of bytes after the gzip data of ``path``, or None if there are none."""
    end, after = _gzip_end(path)
    if after != "junk":
        return None
    return after_end(path, os.path.getsize(path) - end, "gzip data", end, True)


class Source:
    """A dump on disk. ``scan()`` first (it verifies everything), then ``iter_chunks()``."""

    container = None
    compressed = False

    def __init__(self, path):
        self.path = path
        self.inventory = None

    def scan(self):
        raise NotImplementedError

    def iter_chunks(self, entries):
        """Yield ``(entry, chunk, offsets)`` for the wanted entries, in the source's order.

        ``chunk`` holds whole documents, ``offsets`` their starts. The counts and checksums
        are checked again as the documents pass: an input that changed since ``scan()``
        raises ArchiveError before the iteration ends, so a restore never swaps it in.
        """
        raise NotImplementedError

    @contextlib.contextmanager
    def _gzip_checked(self):
        """A gzip input that failed to read may be a good one with bytes after its gzip data:
        then that is what the refusal says."""
        try:
            yield
        except ArchiveError as exc:
            junk = None
            if self.compressed and isinstance(exc.__cause__, READ_ERRORS):
                junk = junk_after_gzip(self.path)
            if junk is None:
                raise
            raise junk from exc

    def _changed(self, what, count, expected):
        return ArchiveError(
            "%s: %s changed since it was verified (%d documents now, %d then); nothing was "
            "swapped in: make sure nothing writes to the input while it is restored."
            % (self.path, what, count, expected)
        )
