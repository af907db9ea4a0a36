# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing a ``mongodump --archive`` stream (for tests and interoperability).

Layout per mongo-tools common/archive/spec.md: the magic number, the header document, one
collection-metadata document per collection, a terminator; then per collection a namespace
segment (header, documents, terminator) and an EOF header carrying the CRC-64 of all its
documents, then a terminator.
"""

from __future__ import annotations

from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_bson import (
    split_documents,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_format import (
    ARCHIVE_FORMAT_VERSION,
    ARCHIVE_MAGIC,
    ARCHIVE_TERMINATOR,
    SON,
    TOOL_ID,
    Crc64,
    Int64,
    bson,
    require_bson,
)


class ArchiveCollection:
    """One collection for ``write_archive``: its metadata JSON and an iterable of BSON bytes
    (single documents or runs of whole documents)."""

    def __init__(self, db, name, metadata, documents, collection_type="collection", size=0):
        self.db = db
        self.name = name
        self.metadata = metadata.decode("utf-8") if isinstance(metadata, bytes) else metadata
        self.documents = documents
        self.type = collection_type
        self.size = size


def write_archive(
    out, collections, server_version="", tool_version=TOOL_ID, concurrent_collections=1
):
    """Write a ``mongodump --archive`` stream to ``out`` (wrap it in gzip for ``--gzip``).

    Layout per mongo-tools common/archive/spec.md: the magic number, the header document,
    one collection-metadata document per collection, a terminator; then per collection a
    namespace segment (header, documents, terminator) and an EOF header carrying the CRC-64
    of all its documents, then a terminator. An empty collection gets an empty segment, as
    mongodump's multiplexer writes it. Returns {namespace: document count}.
    """
    require_bson()
    collections = list(collections)
    out.write(ARCHIVE_MAGIC)
    out.write(
        bson.encode(
            SON(
                [
                    ("concurrent_collections", int(concurrent_collections)),
                    ("version", ARCHIVE_FORMAT_VERSION),
                    ("server_version", server_version),
                    ("tool_version", tool_version),
                ]
            )
        )
    )
    for coll in collections:
        out.write(
            bson.encode(
                SON(
                    [
                        ("db", coll.db),
                        ("collection", coll.name),
                        ("metadata", coll.metadata or ""),
                        ("size", int(coll.size)),
                        ("type", coll.type or ""),
                    ]
                )
            )
        )
    out.write(ARCHIVE_TERMINATOR)
    counts = {}
    for coll in collections:
        where = "collection %s.%s" % (coll.db, coll.name)
        crc = Crc64()
        count = 0
        out.write(_namespace_header(coll.db, coll.name, False, 0))
        for data in coll.documents:
            count += len(split_documents(data, where))
            crc.update(data)
            out.write(data)
        out.write(ARCHIVE_TERMINATOR)
        out.write(_namespace_header(coll.db, coll.name, True, crc.signed))
        out.write(ARCHIVE_TERMINATOR)
        counts["%s.%s" % (coll.db, coll.name)] = count
    return counts


def _namespace_header(db, name, eof, crc):
    return bson.encode(
        SON([("db", db), ("collection", name), ("EOF", bool(eof)), ("CRC", Int64(crc))])
    )
