# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading a ``mongodump --archive`` file, gzipped or not (mongo-tools common/archive/spec.md):
``ArchiveSource`` checks the magic number, the header and prelude, every namespace segment's
framing and its CRC-64, that every collection ends and that nothing follows the end."""

from __future__ import annotations

import hashlib
import io
import os

from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_format import (
    ARCHIVE_FORMAT_VERSION,
    ARCHIVE_MAGIC,
    ARCHIVE_TERMINATOR,
    CHUNK_SIZE,
    MAX_BSON_SIZE,
    MIN_BSON_SIZE,
    READ_ERRORS,
    ArchiveError,
    Crc64,
    bson,
    check_database_name,
    gzip_reader,
    is_plain_collection,
    parse_metadata_json,
    require_bson,
    short_error,
    skip_reason,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_source import (
    CollectionEntry,
    Inventory,
    Source,
    after_end,
)

_ARCHIVE_BATCH_DOCS = 1000


class ArchiveSource(Source):
    def __init__(self, path, compressed):
        super().__init__(path)
        self.compressed = compressed
        self.container = "archive.gz" if compressed else "archive"

    # -- low level reading
    def _fail(self, what, why="the archive is truncated"):
        return ArchiveError("%s ends inside %s; %s: restore another one." % (self.path, what, why))

    def _read_doc(self, stream, what, allow_end=False, allow_terminator=False):
        """One BSON document's bytes; None at a terminator; b"" at the end (when allowed)."""
        head = stream.read(4)
        if not head and allow_end:
            return b""
        if len(head) != 4:
            raise self._fail(what)
        if head == ARCHIVE_TERMINATOR:
            if not allow_terminator:
                raise ArchiveError(
                    "%s has a terminator where %s should be; the archive is damaged: restore "
                    "another one." % (self.path, what)
                )
            return None
        size = int.from_bytes(head, "little", signed=True)
        if size < MIN_BSON_SIZE or size > MAX_BSON_SIZE:
            raise ArchiveError(
                "%s: %s declares a length of %d bytes, which is neither a BSON document nor a "
                "terminator; the archive is corrupt: restore another one." % (self.path, what, size)
            )
        rest = stream.read(size - 4)
        if len(rest) != size - 4:
            raise self._fail(what)
        if rest[-1] != 0:
            raise ArchiveError(
                "%s: %s does not end with its NUL byte; the archive is corrupt: restore another "
                "one." % (self.path, what)
            )
        return head + rest

    def _decode(self, data, what):
        try:
            return bson.decode(data)
        except Exception as exc:  # noqa: BLE001 - any decoding failure is corruption
            raise ArchiveError(
                "%s: %s is not a valid BSON document (%s); the archive is corrupt: restore "
                "another one." % (self.path, what, short_error(exc))
            ) from exc

    def _prelude(self, stream):
        if stream.read(4) != ARCHIVE_MAGIC:
            raise ArchiveError(
                "%s does not start with the mongodump archive magic number." % self.path
            )
        header = self._decode(self._read_doc(stream, "the archive header"), "the archive header")
        if header.get("version") != ARCHIVE_FORMAT_VERSION:
            raise ArchiveError(
                "%s is archive format version %r; only version %r exists."
                % (self.path, header.get("version"), ARCHIVE_FORMAT_VERSION)
            )
        entries = []
        while True:
            raw = self._read_doc(stream, "the archive prelude", allow_terminator=True)
            if raw is None:
                break
            meta = self._decode(raw, "a collection's prelude entry")
            db, name = meta.get("db"), meta.get("collection")
            if not isinstance(db, str) or not isinstance(name, str) or not name:
                raise ArchiveError("%s has a prelude entry without a collection." % self.path)
            entry = CollectionEntry(db, name)
            entry.collection_type = meta.get("type") or "collection"
            text = meta.get("metadata") or ""
            if text:
                entry.metadata = parse_metadata_json(
                    text, "%s: the metadata of %s" % (self.path, entry.namespace)
                )
                entry.metadata_path = "prelude"
            entry.data_path = entry.namespace
            entries.append(entry)
        return header, entries

    def _blocks(self, stream, complete):
        """Yield ("data", ns, [document bytes]) in bounded lists and ("eof", ns, crc).

        ``complete()`` says whether every collection has ended; what follows then, where a
        namespace header would be, is refused as bytes after the end of the archive.
        """
        while True:
            start = stream.tell()
            try:
                raw = self._read_doc(
                    stream, "a namespace header", allow_end=True, allow_terminator=True
                )
                if raw == b"":
                    return
                if raw is None:
                    raise ArchiveError(
                        "%s has a block without a header (two terminators in a row); the "
                        "archive is damaged: restore another one." % self.path
                    )
                header = self._decode(raw, "a namespace header")
            except ArchiveError as exc:
                if complete():
                    raise self._after_end(stream, start) from exc
                raise
            db, name = header.get("db"), header.get("collection")
            if not isinstance(name, str) or not name or not isinstance(db, str):
                raise ArchiveError("%s has a namespace header without a collection." % self.path)
            ns = "%s.%s" % (db, name)
            if header.get("EOF"):
                if self._read_doc(stream, "the end of %s" % ns, allow_terminator=True) is not None:
                    raise ArchiveError(
                        "%s has documents after the end of %s; the archive is damaged."
                        % (self.path, ns)
                    )
                yield "eof", ns, header.get("CRC")
                continue
            docs = []
            size = 0
            while True:
                raw = self._read_doc(stream, "a document of %s" % ns, allow_terminator=True)
                if raw is None:
                    break
                docs.append(raw)
                size += len(raw)
                if len(docs) >= _ARCHIVE_BATCH_DOCS or size >= CHUNK_SIZE:
                    yield "data", ns, docs
                    docs = []
                    size = 0
            if docs:
                yield "data", ns, docs

    def _after_end(self, stream, start):
        """The refusal of what follows the end of a complete archive, from ``start`` of the
        (decompressed) stream."""
        if not self.compressed:
            count = os.path.getsize(self.path) - start
        else:
            count = stream.tell() - start
            while True:
                data = stream.read(CHUNK_SIZE)
                if not data:
                    break
                count += len(data)
        return after_end(self.path, count, "mongodump archive", start, not self.compressed)

    def _events(self):
        """Walk the whole archive checking every rule; yield (entry, [document bytes]).

        Sets self._header and self._entries (all prelude entries, in order) first.
        """
        require_bson()
        try:
            with open(self.path, "rb") as handle:
                raw = gzip_reader(handle) if self.compressed else handle
                stream = io.BufferedReader(raw, CHUNK_SIZE) if self.compressed else raw
                header, entries = self._prelude(stream)
                self._header, self._entries = header, entries
                by_ns = {e.namespace: e for e in entries}
                track = {}  # ns -> [crc, sha, count, size, closed]

                def incomplete():
                    """The first collection whose end has not been read yet, or None."""
                    for entry in entries:
                        if (
                            is_plain_collection(entry.collection_type)
                            and not track.get(entry.namespace, [None] * 5)[4]
                        ):
                            return entry
                    return None

                for event, ns, payload in self._blocks(stream, lambda: incomplete() is None):
                    entry = by_ns.get(ns)
                    if entry is None:
                        raise ArchiveError(
                            "%s holds documents of %s, which its prelude does not announce; the "
                            "archive is damaged: restore another one." % (self.path, ns)
                        )
                    state = track.get(ns)
                    if state is None:
                        state = track[ns] = [Crc64(), hashlib.sha256(), 0, 0, False]
                    if state[4]:
                        raise ArchiveError(
                            "%s holds data for %s after its end; the archive is damaged: "
                            "restore another one." % (self.path, ns)
                        )
                    if event == "data":
                        for doc in payload:
                            state[0].update(doc)
                            state[1].update(doc)
                            state[3] += len(doc)
                        state[2] += len(payload)
                        yield entry, payload
                        continue
                    if payload is None or int(payload) != state[0].signed:
                        raise ArchiveError(
                            "%s: the CRC-64 of %s's documents is %d, the archive says %s; it is "
                            "corrupt: restore another one."
                            % (self.path, ns, state[0].signed, payload)
                        )
                    state[4] = True
                    entry.documents, entry.size = state[2], state[3]
                    entry.sha256 = state[1].hexdigest()
                missing = incomplete()
                if missing is not None:
                    raise ArchiveError(
                        "%s ends before collection %s is complete; the archive is truncated: "
                        "restore another one." % (self.path, missing.namespace)
                    )
        except READ_ERRORS as exc:
            raise ArchiveError(
                "%s cannot be read (%s); it is truncated or damaged: restore another one."
                % (self.path, short_error(exc))
            ) from exc

    def scan(self):
        with self._gzip_checked():
            for _ in self._events():
                pass
        inventory = Inventory(self.path, self.container)
        inventory.server_version = self._header.get("server_version")
        inventory.tool_version = self._header.get("tool_version")
        for entry in self._entries:
            reason = skip_reason(entry.db, entry.name, entry.collection_type)
            if reason is not None:
                path = entry.namespace if entry.db else entry.name  # the oplog: "oplog"
                inventory.skipped.append({"path": path, "reason": reason})
            else:
                check_database_name(entry.db, "%s: collection %s" % (self.path, entry.namespace))
                inventory.collections.append(entry)
        self.inventory = inventory
        return inventory

    def iter_chunks(self, entries):
        if self.inventory is None:
            raise ArchiveError("internal error: scan() the source before reading it.")
        wanted = {e.namespace: e for e in entries}
        expected = {ns: (e.documents, e.sha256) for ns, e in wanted.items()}
        with self._gzip_checked():
            seen = {ns: [0, hashlib.sha256()] for ns in wanted}
            for entry, docs in self._events():
                ns = entry.namespace
                if ns not in wanted:
                    continue
                chunk = b"".join(docs)
                offsets = []
                off = 0
                for doc in docs:
                    offsets.append(off)
                    off += len(doc)
                seen[ns][0] += len(docs)
                seen[ns][1].update(chunk)
                yield wanted[ns], chunk, offsets
            for ns, (count, sha) in seen.items():
                if (count, sha.hexdigest()) != expected[ns]:
                    raise self._changed(ns, count, expected[ns][0])
