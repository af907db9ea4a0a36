# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The facts of the MongoDB dump formats, shared by their readers and writers.

Formats (mongo-tools is the reference for each):

- the mongodump directory layout: ``<db>/<collection>.bson`` (the documents, back to back)
  and ``<db>/<collection>.metadata.json`` (options, indexes, uuid, type, as canonical
  extended JSON), plus ``prelude.json`` with the server and tool versions at the root;
- the same with ``--gzip``: every file gzipped, ``.gz`` appended to its name;
- a tar of either, gzipped or not;
- ``mongodump --archive``, gzipped or not (mongo-tools common/archive/spec.md);
- this collection's backup: the directory layout in a gzip tar, with ``manifest.json``
  (tool and server versions, time, per collection the count and sha256) as its last member.

Here: the names and sizes they use, the error every reader and writer raises, gzip (ISA-L's
igzip when the ``isal`` package is installed), mongodump's file names for collections,
metadata.json and prelude.json, the --archive checksum (CRC-64), and the rules of what is
neither backed up nor restored. The work is done beside it: ``_archive_bson`` (documents
as bytes), ``_archive_write_backup`` and ``_archive_write_mongodump`` (the writers),
``_archive_readers`` (``open_source`` and the readers behind it).

BSON handling is pymongo's ``bson`` package; compression is gzip/zlib; tars are tarfile.
Own code exists only for what none of them does, each place says why.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import struct
import tarfile
import traceback
import urllib.parse
import zlib
from array import array
from sys import byteorder

from ansible_collections.vhvcorp.devtools.plugins.module_utils._errors import DevtoolsError

try:
    # ISA-L writes and reads the same gzip format four to five times faster than zlib. On a
    # small machine the server and the compression share the CPU, and zlib alone cannot keep
    # up with the cursor (benchmarks/mongodb_backup_restore.py measures it); optional.
    from isal import igzip as _igzip
    from isal.isal_zlib import crc32
    from isal.isal_zlib import error as _isal_error
except ImportError:
    _igzip = None
    crc32 = zlib.crc32
    _isal_error = zlib.error

try:
    import bson
    from bson import json_util
    from bson.int64 import Int64
    from bson.json_util import CANONICAL_JSON_OPTIONS
    from bson.raw_bson import RawBSONDocument
    from bson.son import SON

    HAS_BSON = True
    BSON_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised only where pymongo is missing
    bson = json_util = Int64 = CANONICAL_JSON_OPTIONS = RawBSONDocument = SON = None
    HAS_BSON = False
    BSON_IMPORT_ERROR = traceback.format_exc()

TOOL_NAME = "vhvcorp.devtools"
TOOL_VERSION = "1.0.0"
TOOL_ID = "%s %s" % (TOOL_NAME, TOOL_VERSION)

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "vhvcorp.devtools.mongodb-backup"
MANIFEST_VERSION = 1
PRELUDE_NAME = "prelude.json"

# mongo-tools common/db: the largest document a dump may hold, and the smallest BSON document.
MAX_BSON_SIZE = 16 * 1024 * 1024
MIN_BSON_SIZE = 5
# JSON members (metadata, prelude, manifest) are read whole; none is near this.
MAX_JSON_SIZE = 16 * 1024 * 1024
# Documents are handed on in chunks of about this many bytes.
CHUNK_SIZE = 8 * 1024 * 1024

# mongo-tools common/archive: the magic number 0x8199e26d, little-endian, the block
# terminator, and the only archive format version there is.
ARCHIVE_MAGIC = struct.pack("<I", 0x8199E26D)
ARCHIVE_TERMINATOR = b"\xff\xff\xff\xff"
ARCHIVE_FORMAT_VERSION = "0.1"

# zlib's fastest level: BSON compresses well at it, and on a small machine the server and
# the compression share the CPU (levels 4-9 cost several times the CPU for a few percent).
DEFAULT_COMPRESSION_LEVEL = 1

GZIP_MAGIC = b"\x1f\x8b"


def gzip_module(level):
    """igzip for the levels it has (1-3), else the standard library's gzip. Level 0 stays
    with gzip: there it means stored, which the streamed members' fixed-length headers need,
    while igzip's level 0 compresses."""
    return _igzip if _igzip is not None and 1 <= level <= 3 else gzip


def gzip_compress(data, level):
    return gzip_module(level).compress(data, compresslevel=level, mtime=0)


def gzip_reader(fileobj):
    """A reader of (multi-member) gzip, the fastest there is."""
    return (_igzip or gzip).GzipFile(fileobj=fileobj, mode="rb")


TAR_BLOCK = tarfile.BLOCKSIZE
TAR_RECORD = tarfile.RECORDSIZE


class ArchiveError(DevtoolsError):
    """The input or output is not usable; the message says which file, what and what to do."""


def require_bson():
    if not HAS_BSON:
        raise ArchiveError(
            "The Python library pymongo (which provides bson) is not installed for the Python "
            "that runs the module; install it (pip install 'pymongo>=4')."
        )


# --- names ------------------------------------------------------------------------------------

# mongodump names files with Go's url.PathEscape(collection): it keeps letters, digits,
# "-._~" and the reserved characters "$&+:=@", and escapes everything else as %XX (upper case).
_PATH_SAFE = "$&+:=@"


def escape_collection_name(name):
    return urllib.parse.quote(name, safe=_PATH_SAFE)


def unescape_collection_name(name):
    return urllib.parse.unquote(name, errors="strict")


def collection_file_base(name):
    """The file name (without extension) mongodump gives a collection's files.

    Names whose escaped form is longer than 238 bytes are cut to 208 bytes, followed by
    ``%24`` and the unpadded URL-safe base64 of the name's SHA-1 (mongodump prepare.go).
    """
    escaped = escape_collection_name(name)
    if len(escaped) > 238:
        digest = hashlib.sha1(name.encode("utf-8")).digest()  # noqa: S324 - mongodump's naming
        escaped = escaped[:208] + "%24" + base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return escaped


def is_truncated_file_base(base):
    return len(base) == 238 and "%24" in base


_DB_NAME_FORBIDDEN = set('/\\. "$*<>:|?\x00')


def is_valid_database_name(name):
    """MongoDB's rule: not empty, at most 63 bytes, none of /\\. "$*<>:|? or NUL."""
    return bool(name) and not set(name) & _DB_NAME_FORBIDDEN and len(name.encode("utf-8")) <= 63


def check_database_name(name, where):
    if not is_valid_database_name(name):
        raise ArchiveError(
            "%s names database %r, which MongoDB does not allow (empty, longer than 63 bytes, "
            'or containing one of /\\. "$*<>:|?); rename the directory or use ns_from/ns_to.'
            % (where, name)
        )


# --- metadata.json and prelude.json ----------------------------------------------------------


def metadata_json(collection, indexes, options=None, uuid=None, collection_type="collection"):
    """A collection's ``.metadata.json`` exactly as mongodump writes it.

    Key order is mongodump's Metadata struct: options (left out when empty), indexes, uuid
    (left out when empty), collectionName, type (left out when empty). Values are canonical
    extended JSON v2, compact, with HTML characters and non-ASCII text left as they are
    (bson.MarshalExtJSON(meta, canonical=true, escapeHTML=false)).
    """
    require_bson()
    doc = {}
    if options:
        doc["options"] = options
    doc["indexes"] = list(indexes or [])
    if uuid:
        doc["uuid"] = uuid
    doc["collectionName"] = collection
    if collection_type:
        doc["type"] = collection_type
    text = json_util.dumps(
        doc, json_options=CANONICAL_JSON_OPTIONS, separators=(",", ":"), ensure_ascii=False
    )
    # Go's JSON writer escapes the two JavaScript line terminators; Python's json does not.
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text.encode("utf-8")


def parse_metadata_json(data, where):
    """The metadata document of a ``.metadata.json`` (or an archive prelude's metadata)."""
    require_bson()
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        doc = json_util.loads(text) if text.strip() else {}
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise ArchiveError(
            "%s is not valid metadata JSON (%s); the dump is damaged: take it again or restore "
            "another one." % (where, short_error(exc))
        ) from exc
    if not isinstance(doc, dict):
        raise ArchiveError("%s holds %s, not a metadata document." % (where, type(doc).__name__))
    indexes = doc.get("indexes", [])
    if not isinstance(indexes, list) or not all(isinstance(i, dict) for i in indexes):
        raise ArchiveError("%s has an `indexes` entry that is not a list of documents." % where)
    if not isinstance(doc.get("options", {}), dict):
        raise ArchiveError("%s has an `options` entry that is not a document." % where)
    return doc


def prelude_json(server_version, tool_version=TOOL_ID):
    """mongodump's prelude.json: Go's json.Marshal of a map[string]string (sorted, compact)."""
    return json.dumps(
        {"ServerVersion": server_version, "ToolVersion": tool_version},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")


# --- CRC-64 (the --archive checksum) ----------------------------------------------------------

_CRC64_POLY = 0xC96C5795D7870F42  # ECMA-182, bit-reversed: Go's crc64.MakeTable(crc64.ECMA)
_CRC64_MASK = 0xFFFFFFFFFFFFFFFF
_crc64_tables = []


def _crc64_build():
    table8 = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ _CRC64_POLY if crc & 1 else crc >> 1
        table8.append(crc)
    # Two bytes per step: the register's low 16 bits pushed through two byte steps.
    table16 = [0] * 65536
    for i in range(65536):
        crc = table8[i & 0xFF] ^ (i >> 8)
        table16[i] = table8[crc & 0xFF] ^ (crc >> 8)
    _crc64_tables[:] = [table8, table16]


class Crc64:
    """CRC-64 as Go's hash/crc64 with the ECMA table computes it (CRC-64/XZ).

    mongodump --archive checks each collection with it. Neither the standard library nor
    pymongo has a CRC-64, so it is computed here: pure Python with a 16-bit table, about
    20 MB/s, which is enough for the archives a developer imports.
    """

    __slots__ = ("_crc",)

    def __init__(self):
        if not _crc64_tables:
            _crc64_build()
        self._crc = _CRC64_MASK

    def update(self, data):
        table8, table16 = _crc64_tables
        crc = self._crc
        view = memoryview(data).cast("B")
        even = len(view) & ~1
        if even:
            words = array("H")
            words.frombytes(view[:even])
            if byteorder != "little":
                words.byteswap()
            for word in words:
                crc = table16[(crc ^ word) & 0xFFFF] ^ (crc >> 16)
        if even != len(view):
            crc = table8[(crc ^ view[even]) & 0xFF] ^ (crc >> 8)
        self._crc = crc

    @property
    def value(self):
        return self._crc ^ _CRC64_MASK

    @property
    def signed(self):
        """The value as Go's int64(uint64) conversion gives it: what the archive stores."""
        value = self.value
        return value - (1 << 64) if value >= 1 << 63 else value


# --- what is neither backed up nor restored -----------------------------------------------------
# The rules are written here once: the backup's choice of collections and every reader of a
# dump (the directory layout, a tar, an --archive) apply them.


def is_system_collection(name):
    """The server's own collections (system.*) and names no collection can have ($...)."""
    return name.startswith(("system.", "$"))


def is_plain_collection(collection_type):
    """Only collections are backed up and restored: not views, not time series (a dump holds
    them as metadata alone; a time series' documents are in its system.buckets collection)."""
    return collection_type == "collection"


def skip_reason(db, name, collection_type="collection"):
    """Why a dump's collection ``db.name`` is not restored, or None when it is: the oplog
    (mongodump --oplog writes it beside the databases: an empty database name), system
    collections, the local database, and what is not a plain collection."""
    if db == "" and name == "oplog":
        return "oplog replay is not supported"
    if is_system_collection(name):
        return "system collection"
    if db == "local":
        return "the local database is not restored"
    if not is_plain_collection(collection_type):
        return "%s is not supported" % collection_type
    return None


# The errors of reading damaged or truncated gzip data, and of any damaged or truncated input.
GZIP_ERRORS = (OSError, EOFError, zlib.error, _isal_error)
READ_ERRORS = (*GZIP_ERRORS, tarfile.TarError)


def short_error(exc):
    """The first line of an exception's message, at most 200 characters, for a message."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
