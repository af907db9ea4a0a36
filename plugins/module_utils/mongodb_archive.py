# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""MongoDB dumps on disk: read, write and verify them without decoding a document.

Formats (mongo-tools is the reference for each):

- the mongodump directory layout: ``<db>/<collection>.bson`` (the documents, back to back)
  and ``<db>/<collection>.metadata.json`` (options, indexes, uuid, type, as canonical
  extended JSON), plus ``prelude.json`` with the server and tool versions at the root;
- the same with ``--gzip``: every file gzipped, ``.gz`` appended to its name;
- a tar of either, gzipped or not;
- ``mongodump --archive``, gzipped or not (mongo-tools common/archive/spec.md);
- this collection's backup: the directory layout in a gzip tar, with ``manifest.json``
  (tool and server versions, time, per collection the count and sha256) as its last member.

Documents are streamed as raw BSON bytes in chunks of whole documents, so memory stays
bounded whatever the size of a collection. The modules use:

- ``TarballWriter``: writes a backup tarball member by member while the documents arrive;
- ``write_archive``: writes an ``--archive`` stream (for tests and interoperability);
- ``open_source(path)``: says what a path holds; ``scan()`` verifies the whole input (the
  manifest, checksums, BSON framing, member names and types) and returns an ``Inventory``;
  ``iter_chunks()`` streams the documents again for a restore and checks the checksums again,
  so a file changed between the two passes is refused too.

BSON handling is pymongo's ``bson`` package; compression is gzip/zlib (ISA-L's igzip when the
``isal`` package is installed); tars are tarfile. Own
code exists only for what none of them does, each place says why.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import io
import json
import os
import queue
import re
import stat
import struct
import tarfile
import threading
import time
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
    from isal.isal_zlib import crc32 as _crc32
    from isal.isal_zlib import error as _isal_error
except ImportError:
    _igzip = None
    _crc32 = zlib.crc32
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

_GZIP_MAGIC = b"\x1f\x8b"


def _gzip_module(level):
    """igzip for the levels it has (1-3), else the standard library's gzip. Level 0 stays
    with gzip: there it means stored, which the streamed members' fixed-length headers need,
    while igzip's level 0 compresses."""
    return _igzip if _igzip is not None and 1 <= level <= 3 else gzip


def gzip_compress(data, level):
    return _gzip_module(level).compress(data, compresslevel=level, mtime=0)


def gzip_reader(fileobj):
    """A reader of (multi-member) gzip, the fastest there is."""
    return (_igzip or gzip).GzipFile(fileobj=fileobj, mode="rb")


_TAR_BLOCK = tarfile.BLOCKSIZE
_TAR_RECORD = tarfile.RECORDSIZE


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


def _is_truncated_file_base(base):
    return len(base) == 238 and "%24" in base


_DB_NAME_FORBIDDEN = set('/\\. "$*<>:|?\x00')


def check_database_name(name, where):
    if not name or set(name) & _DB_NAME_FORBIDDEN or len(name.encode("utf-8")) > 63:
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
            "another one." % (where, _short(exc))
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


# --- BSON framing -----------------------------------------------------------------------------


_INT32 = struct.Struct("<i")


def _frame(data, end, where, base):
    """Start offsets of the whole documents at the start of ``data[:end]``, and the offset
    where they stop (``end``, or the start of an incomplete document).

    Only the framing is checked (each length prefix is plausible and each document ends with
    its NUL byte): documents are passed on as bytes, never decoded. This loop runs once per
    document of every backup and restore, so it is kept to the bare operations.
    """
    unpack = _INT32.unpack_from
    offsets = []
    off = 0
    while end - off >= 4:
        (size,) = unpack(data, off)
        if size < MIN_BSON_SIZE or size > MAX_BSON_SIZE:
            raise _bad_size(where, base + off, size)
        stop = off + size
        if stop > end:
            break
        if data[stop - 1]:
            raise _no_nul(where, base + off, size)
        offsets.append(off)
        off = stop
    return offsets, off


def split_documents(data, where, base=0):
    """Start offsets of the documents in ``data`` (whole documents back to back); raises
    ArchiveError on a bad frame or an incomplete document at the end."""
    offsets, off = _frame(data, len(data), where, base)
    if off != len(data):
        raise _truncated(where, len(data) - off)
    return offsets


def raw_documents(chunk, offsets):
    """RawBSONDocuments for the documents of a chunk (bytes are copied, never decoded)."""
    ends = offsets[1:]
    ends.append(len(chunk))
    return [RawBSONDocument(chunk[offsets[i] : ends[i]]) for i in range(len(offsets))]


def iter_bson_chunks(stream, where, chunk_size=CHUNK_SIZE):
    """Yield ``(chunk, offsets)`` from a stream of BSON documents: whole documents only.

    Raises ArchiveError on a bad length prefix, a missing NUL terminator or trailing bytes
    that are not a whole document (a truncated file).

    Each read goes straight into a buffer after the partial document carried over from the
    last one, and a chunk is one copy out of it: a restore reads every byte twice (the
    verification and the insert pass), so copies show (three more took 0.1 s per 100 MB).
    """
    readinto = getattr(stream, "readinto", None)
    carry = b""
    base = 0
    while True:
        buf = bytearray(len(carry) + chunk_size)
        buf[: len(carry)] = carry
        filled = len(carry)
        with memoryview(buf) as view:
            if readinto is not None:
                while filled < len(buf):
                    count = readinto(view[filled:])
                    if not count:
                        break
                    filled += count
            else:
                data = stream.read(chunk_size)
                view[filled : filled + len(data)] = data
                filled += len(data)
            got = filled - len(carry)
            offsets, off = _frame(buf, filled, where, base)
            out = [(view[:off].tobytes(), offsets)] if offsets else []
            carry = view[off:filled].tobytes()
        # A generator suspended at a yield keeps its locals: neither the buffer nor the chunk
        # (popped from a list, not named) stays alive here while the consumer holds it.
        del buf
        if out:
            base += off
            yield out.pop()
        if not got:
            if carry:
                raise _truncated(where, len(carry))
            return


def _bad_size(where, at, size):
    return ArchiveError(
        "%s: the BSON document at byte %d declares a length of %d bytes, which no document "
        "has; the file is corrupt or not BSON: restore another backup." % (where, at, size)
    )


def _no_nul(where, at, size):
    return ArchiveError(
        "%s: the BSON document at byte %d (%d bytes) does not end with its NUL byte; the file "
        "is corrupt: restore another backup." % (where, at, size)
    )


def _truncated(where, extra):
    return ArchiveError(
        "%s ends with %d bytes that are not a whole BSON document; the file is truncated: "
        "restore another backup." % (where, extra)
    )


def prefetch(iterable, size, ahead):
    """Iterate ``iterable`` in a thread, ahead of the consumer: reading and decompressing
    (zlib and hashlib release the GIL) then overlap with the consumer's waiting on the
    server. Exceptions of the iteration are raised in the consumer; a consumer that stops
    early stops the thread.

    How far ahead is bounded in bytes, not in items: ``size(item)`` is an item's, and the
    thread starts on the next item only while one as large as the last still fits, beside
    those waiting, in ``ahead`` bytes (or when none waits). So it never holds an item it
    cannot hand on, and memory stays bounded whatever the items weigh.
    """
    items = queue.SimpleQueue()
    room = threading.Condition()
    waiting = [0]  # bytes made and not yet taken
    stop = threading.Event()
    done = object()

    def produce():
        try:
            last = 0
            iterator = iter(iterable)
            while True:
                with room:
                    while waiting[0] and waiting[0] + last > ahead and not stop.is_set():
                        room.wait(0.2)
                if stop.is_set():
                    return
                item = next(iterator, done)
                if item is done:
                    break
                last = size(item)
                with room:
                    waiting[0] += last
                items.put((None, item, last))
            items.put((None, done, 0))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            items.put((exc, None, 0))
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            error, item, weight = items.get()
            if error is not None:
                raise error
            if item is done:
                return
            with room:
                waiting[0] -= weight
                room.notify()
            yield item
    finally:
        stop.set()
        with room:
            room.notify()
        thread.join()


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


# --- writing: the backup tarball --------------------------------------------------------------


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
        self.crc = _crc32(data, self.crc)
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
        self._segments.append([offset, len(data), _crc32(data)])
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
        pad = b"\0" * ((-len(data)) % _TAR_BLOCK)
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
        end = b"\0" * (2 * _TAR_BLOCK)
        total = self._tar_offset + len(end)
        end += b"\0" * ((-total) % _TAR_RECORD)
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
                    actual = _crc32(data, actual)
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
        self._gz = _gzip_module(writer._level).GzipFile(
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
        pad = (-self.size) % _TAR_BLOCK
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
        segment[2] = _crc32(member)
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


# --- writing: mongodump --archive -------------------------------------------------------------


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


# --- reading: what a path holds ---------------------------------------------------------------


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


def open_source(path):
    """The Source for ``path``: a directory, a tar (gzipped or not) or an --archive file."""
    if not os.path.exists(path):
        raise ArchiveError(
            "Option `src` is %r, which does not exist; give a backup tarball, a mongodump "
            "directory or a mongodump --archive file." % path
        )
    if os.path.isdir(path):
        return DirectorySource(path)
    if not os.path.isfile(path):
        raise ArchiveError("Option `src` is %r, which is not a regular file or a directory." % path)
    with open(path, "rb") as handle:
        head = handle.read(_TAR_BLOCK + 8)
        compressed = head[:2] == _GZIP_MAGIC
        if compressed:
            handle.seek(0)
            try:
                with gzip_reader(handle) as gz:
                    inner = gz.read(_TAR_BLOCK + 8)
            except (OSError, EOFError, zlib.error, _isal_error) as exc:
                junk = _junk_after_gzip(path)  # a small input's gzip data read to its end
                if junk is not None:
                    raise junk from exc
                raise ArchiveError(
                    "%s is not a readable gzip file (%s); it is truncated or damaged: "
                    "restore another backup." % (path, _short(exc))
                ) from exc
        else:
            inner = head
    if inner[:4] == ARCHIVE_MAGIC:
        return ArchiveSource(path, compressed)
    if inner[257:262] == b"ustar":
        return TarSource(path, compressed)
    raise ArchiveError(
        "%s is neither a tar%s nor a mongodump --archive file; give a backup tarball "
        "(mongodb-YYYY-MM-DD.tar.gz), a mongodump directory or a mongodump --archive file."
        % (path, " inside gzip" if compressed else "")
    )


class _FileFacts:
    """What one pass learnt about one file of a dump (a tar member or a file in a directory)."""

    __slots__ = ("path", "size", "sha256", "documents", "bson_size", "bson_sha256", "content")

    def __init__(self, path):
        self.path = path
        self.size = 0
        self.sha256 = None
        self.documents = None
        self.bson_size = None
        self.bson_sha256 = None
        self.content = None  # JSON files: the (decompressed) bytes


class _HashingReader:
    """Reads from a stream and hashes what was read (the file as stored)."""

    def __init__(self, raw):
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def read(self, size=-1):
        data = self.raw.read(size)
        self.sha.update(data)
        self.size += len(data)
        return data

    def readinto(self, buffer):  # igzip reads with readinto
        count = self.raw.readinto(buffer)
        if count:
            self.sha.update(memoryview(buffer)[:count])
            self.size += count
        return count

    def drain(self):
        while self.read(CHUNK_SIZE):
            pass


def _is_data_file(name):
    return name.endswith(".bson") or name.endswith(".bson.gz")


def _is_metadata_file(name):
    return name.endswith(".metadata.json") or name.endswith(".metadata.json.gz")


def _is_json_file(name):
    return name.endswith(".json") or name.endswith(".json.gz")


class _BackgroundSha256:
    """sha256 in a thread of its own. hashlib releases the GIL, so hashing one chunk overlaps
    reading and decompressing the next: on two cores a scan takes half the time."""

    def __init__(self):
        self._sha = hashlib.sha256()
        self._chunks = queue.Queue(maxsize=2)
        self._thread = threading.Thread(target=self._run, name="sha256", daemon=True)
        self._thread.start()

    def _run(self):
        for chunk in iter(self._chunks.get, None):
            self._sha.update(chunk)

    def update(self, chunk):
        self._chunks.put(chunk)

    def close(self):
        if self._thread.is_alive():
            self._chunks.put(None)
            self._thread.join()

    def hexdigest(self):
        self.close()
        return self._sha.hexdigest()


def _examine(stream, path, source):
    """Hash one file of a dump as stored; frame-check, count and hash a BSON file's documents
    (decompressed if it is .gz); keep a JSON file's content."""
    facts = _FileFacts(path)
    compressed = path.endswith(".gz")
    # A plain BSON file's documents are the file as stored: one hash serves for both.
    plain_data = _is_data_file(path) and not compressed
    reader = stream if plain_data else _HashingReader(stream)
    where = "%s: %s" % (source, path)
    sha = _BackgroundSha256()
    try:
        inner = gzip_reader(reader) if compressed else reader
        if _is_data_file(path):
            count = size = 0
            for chunk, offsets in iter_bson_chunks(inner, where):
                sha.update(chunk)
                count += len(offsets)
                size += len(chunk)
            facts.documents, facts.bson_size, facts.bson_sha256 = count, size, sha.hexdigest()
        elif _is_json_file(path):
            content = inner.read(MAX_JSON_SIZE + 1)
            if len(content) > MAX_JSON_SIZE:
                raise ArchiveError(
                    "%s is larger than %d bytes, which no dump's JSON file is; it is not part "
                    "of a dump: remove it." % (where, MAX_JSON_SIZE)
                )
            facts.content = content
        if not plain_data:
            # To the end: gzip checks its CRC and length there, and the whole file is hashed.
            while inner.read(CHUNK_SIZE):
                pass
            reader.drain()
    except _READ_ERRORS as exc:
        raise ArchiveError(
            "%s cannot be read (%s); it is truncated or damaged: restore another backup."
            % (where, _short(exc))
        ) from exc
    finally:
        sha.close()
    if plain_data:
        facts.size, facts.sha256 = facts.bson_size, facts.bson_sha256
    else:
        facts.size, facts.sha256 = reader.size, reader.sha.hexdigest()
    return facts


_READ_ERRORS = (OSError, EOFError, zlib.error, _isal_error, tarfile.TarError)


# --- the end of the input ---------------------------------------------------------------------


def _after_end(path, count, what, at, in_file):
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
            if (rest + handle.read(1))[:2] != _GZIP_MAGIC:
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


def _junk_after_gzip(path):
    """The refusal of bytes after the gzip data of ``path``, or None if there are none."""
    end, after = _gzip_end(path)
    if after != "junk":
        return None
    return _after_end(path, os.path.getsize(path) - end, "gzip data", end, True)


class _TarEnd:
    """The file object tarfile reads a tar through: keeps the last header-sized read.

    tarfile stops at the end-of-archive marker (two zero blocks) or at anything that is not a
    header, and never reads what follows; it says only where it stopped (TarFile.offset). The
    block it read there is kept, to check that it is the marker and that only zero padding
    follows it.
    """

    def __init__(self, raw):
        self.raw = raw
        self.block = b""
        self.at = -1

    def read(self, size=-1):
        at = self.raw.tell() if 0 <= size <= _TAR_BLOCK else -1
        data = self.raw.read(size)
        if at >= 0:
            self.block, self.at = data, at
        return data

    def seek(self, offset, whence=os.SEEK_SET):
        return self.raw.seek(offset, whence)

    def tell(self):
        return self.raw.tell()


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
            if self.compressed and isinstance(exc.__cause__, _READ_ERRORS):
                junk = _junk_after_gzip(self.path)
            if junk is None:
                raise
            raise junk from exc

    def _changed(self, what, count, expected):
        return ArchiveError(
            "%s: %s changed since it was verified (%d documents now, %d then); nothing was "
            "swapped in: make sure nothing writes to the input while it is restored."
            % (self.path, what, count, expected)
        )


class _LayoutSource(Source):
    """A mongodump directory layout, in a directory or a tar."""

    def _files(self):
        """Yield _FileFacts for every regular file, examined in the source's order."""
        raise NotImplementedError

    def _streams(self, wanted):
        """Yield (relative path, readable stream) for the wanted files, in order."""
        raise NotImplementedError

    def scan(self):
        files = {}
        for facts in self._files():
            files[facts.path] = facts
        self.inventory = _build_inventory(self.path, self.container, files)
        return self.inventory

    def iter_chunks(self, entries):
        if self.inventory is None:
            raise ArchiveError("internal error: scan() the source before reading it.")
        wanted = {e.data_path: e for e in entries if e.data_path}
        done = set()
        for path, stream in self._streams(set(wanted)):
            entry = wanted[path]
            sha = _BackgroundSha256()
            count = 0
            try:
                inner = gzip_reader(stream) if path.endswith(".gz") else stream
                for chunk, offsets in iter_bson_chunks(inner, "%s: %s" % (self.path, path)):
                    sha.update(chunk)
                    count += len(offsets)
                    if count > entry.documents:
                        raise self._changed(path, count, entry.documents)
                    out = [(entry, chunk, offsets)]
                    del chunk  # not kept alive while suspended (see iter_bson_chunks)
                    yield out.pop()
                if inner is not stream:
                    inner.read()
            except _READ_ERRORS as exc:
                raise ArchiveError(
                    "%s: %s cannot be read any more (%s); nothing was swapped in."
                    % (self.path, path, _short(exc))
                ) from exc
            finally:
                sha.close()
            if count != entry.documents or sha.hexdigest() != entry.sha256:
                raise self._changed(path, count, entry.documents)
            done.add(path)
        missing = set(wanted) - done
        if missing:
            raise ArchiveError(
                "%s: %s disappeared since it was verified; nothing was swapped in."
                % (self.path, sorted(missing)[0])
            )


class DirectorySource(_LayoutSource):
    container = "directory"

    def _walk(self):
        root = self.path
        found = []
        for current, dirs, names in os.walk(root, followlinks=False):
            dirs.sort()
            for name in dirs + names:
                full = os.path.join(current, name)
                mode = os.lstat(full).st_mode
                if stat.S_ISLNK(mode):
                    raise ArchiveError(
                        "%s is a symbolic link; a dump directory holds only directories and "
                        "regular files, so it is refused: replace the link with a copy." % full
                    )
                if name in names and not stat.S_ISREG(mode):
                    raise ArchiveError(
                        "%s is not a regular file (a device, socket or pipe); remove it from "
                        "the dump directory." % full
                    )
                if name in names:
                    found.append(os.path.relpath(full, root).replace(os.sep, "/"))
        return _layout_order(found)

    def _files(self):
        for rel in self._walk():
            with open(os.path.join(self.path, rel), "rb") as stream:
                yield _examine(stream, rel, self.path)

    def _streams(self, wanted):
        for rel in self._walk():
            if rel in wanted:
                with open(os.path.join(self.path, rel), "rb") as stream:
                    yield rel, stream


def _layout_order(paths):
    """Files in a stable order: per directory, collections by name, metadata before data."""

    def key(rel):
        parts = rel.split("/")
        name = parts[-1]
        rank = 0 if _is_metadata_file(name) else 1 if _is_data_file(name) else 2
        return (parts[:-1], _file_base(name), rank, name)

    return sorted(paths, key=key)


def _file_base(name):
    return re.sub(r"\.(metadata\.json|bson)(\.gz)?$", "", name)


class TarSource(_LayoutSource):
    def __init__(self, path, compressed):
        super().__init__(path)
        self.compressed = compressed
        self.container = "tar.gz" if compressed else "tar"

    def _members(self):
        """Yield (name, member, tar) for every member, checked first: no links, devices or
        names that leave the directory, no name twice."""
        with open(self.path, "rb") as handle:
            # gzip_reader reads multi-member gzip (what TarballWriter writes), and tarfile on
            # top of it reads the members in order, so nothing is unpacked to disk. Not
            # tarfile's stream mode ("r|"): it copies every byte through its buffers a few
            # times (a scan of 500 MB: 2.2 s, against 1.25 s reading the members' data
            # straight from the decompressor, whose forward seeks only skip).
            stream = gzip_reader(handle) if self.compressed else handle
            watch = _TarEnd(stream)
            try:
                with tarfile.open(fileobj=watch, mode="r:") as tar:
                    seen = set()
                    for member in tar:
                        name = _check_member(member, self.path)
                        if name is None:
                            continue
                        if name in seen:
                            raise ArchiveError(
                                "%s holds %s twice; a dump holds each file once, so it is "
                                "refused: the archive was tampered with or badly made."
                                % (self.path, name)
                            )
                        seen.add(name)
                        yield name, member, tar
                    self._check_end(watch, tar.offset)
            except _READ_ERRORS as exc:
                raise ArchiveError(
                    "%s is not a complete, readable tar (%s); it is truncated or damaged: "
                    "restore another backup." % (self.path, _short(exc))
                ) from exc

    def scan(self):
        with self._gzip_checked():
            return super().scan()

    def iter_chunks(self, entries):
        with self._gzip_checked():
            yield from super().iter_chunks(entries)

    def _check_end(self, watch, end):
        """After the last member (at ``end`` of the tar): the end-of-archive marker, then zero
        bytes only (tar pads to its record size, GNU tar to 10240 bytes by default). What
        follows the gzip data is checked by _gzip_checked."""
        data = watch.block if watch.at == end else b""
        zeros = 0
        while data:
            rest = data.lstrip(b"\0")
            if rest:
                at = end + zeros + len(data) - len(rest)
                count = len(rest)
                while data:
                    data = watch.raw.read(CHUNK_SIZE)
                    count += len(data)
                raise _after_end(self.path, count, "tar archive", at, not self.compressed)
            zeros += len(data)
            data = watch.raw.read(CHUNK_SIZE)
        if zeros < 2 * _TAR_BLOCK:
            raise ArchiveError(
                "%s ends after its last member without tar's end-of-archive marker (two zero "
                "blocks), so it is truncated: restore another backup." % self.path
            )

    def _files(self):
        for name, member, tar in self._members():
            if member.isreg():
                yield _examine(tar.extractfile(member), name, self.path)

    def _streams(self, wanted):
        for name, member, tar in self._members():
            if member.isreg() and name in wanted:
                yield name, tar.extractfile(member)


def _check_member(member, path):
    """The member's normalised name (None for the root itself), or ArchiveError for anything
    a dump must not hold."""
    name = member.name
    if member.issym() or member.islnk():
        raise ArchiveError(
            "%s holds a link member (%s -> %s); a dump holds only directories and regular "
            "files, so it is refused: the archive was tampered with or badly made."
            % (path, name, member.linkname)
        )
    if not (member.isreg() or member.isdir()) or member.issparse():
        raise ArchiveError(
            "%s holds %s, which is not a regular file or a directory (a device, pipe or sparse "
            "file), so it is refused." % (path, name)
        )
    if "\x00" in name or "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise ArchiveError(
            "%s holds member %r, an absolute path; a dump's members are relative, so it is "
            "refused." % (path, name)
        )
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(
            "%s holds member %r, which would escape the directory it is unpacked into, so it "
            "is refused." % (path, name)
        )
    if not parts:
        return None
    return "/".join(parts)


def _load_json(facts, path, what):
    try:
        return json.loads(facts.content.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArchiveError(
            "%s: %s is not valid JSON (%s); the %s is damaged: restore another backup."
            % (path, facts.path, _short(exc), what)
        ) from exc


def _build_inventory(path, container, files):
    inventory = Inventory(path, container)

    # Where the databases are: every data or metadata file sits at <root>/<db>/<file>.
    layout = []
    for rel in files:
        if rel.rsplit("/", 1)[-1] in ("oplog.bson", "oplog.bson.gz"):
            # mongodump --oplog writes it beside the databases; it is not a collection.
            inventory.skipped.append({"path": rel, "reason": "oplog replay is not supported"})
        elif _is_data_file(rel) or _is_metadata_file(rel):
            layout.append(rel)
    roots = {}
    for rel in layout:
        parts = rel.split("/")
        if len(parts) >= 2:
            roots.setdefault("/".join(parts[:-2]), []).append(rel)
    if len(roots) > 1:
        sample = sorted(min(v) for v in roots.values())[:2]
        raise ArchiveError(
            "%s holds dump files at different depths (%s); give the dump directory itself "
            "(the one whose subdirectories are the databases)." % (path, ", ".join(sample))
        )
    root = next(iter(roots), "")
    prefix = root + "/" if root else ""

    prelude_facts = files.get(prefix + PRELUDE_NAME) or files.get(prefix + PRELUDE_NAME + ".gz")
    if prelude_facts is not None:
        prelude = _load_json(prelude_facts, path, "dump")
        if isinstance(prelude, dict):
            inventory.server_version = prelude.get("ServerVersion")
            inventory.tool_version = prelude.get("ToolVersion")

    manifest = None
    manifest_facts = files.get(prefix + MANIFEST_NAME)
    if manifest_facts is not None:
        manifest = _load_json(manifest_facts, path, "backup")
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
            manifest = None
    if manifest is None and str(inventory.tool_version or "").startswith(TOOL_NAME):
        raise ArchiveError(
            "%s was written by %s but its manifest.json is missing; without it the backup "
            "cannot be verified, so it is refused: restore another backup." % (path, TOOL_NAME)
        )
    if manifest is not None:
        _verify_manifest(path, manifest, files, prefix)
        inventory.kind = "backup"
        inventory.manifest = manifest
        inventory.created = manifest.get("created")
        server = manifest.get("server") or {}
        inventory.server_version = server.get("version", inventory.server_version)
        inventory.tool_version = "%s %s" % (
            manifest.get("tool", TOOL_NAME),
            manifest.get("tool_version", ""),
        )

    entries = {}
    for rel in _layout_order(layout):
        parts = rel.split("/")
        if len(parts) < 2:
            inventory.skipped.append({"path": rel, "reason": "not inside a database directory"})
            continue
        db, filename = parts[-2], parts[-1]
        base = _file_base(filename)
        facts = files[rel]
        where = "%s: %s" % (path, rel)
        metadata = parse_metadata_json(facts.content, where) if _is_metadata_file(rel) else None
        if _is_truncated_file_base(base):
            # A shortened name: the full one is in the metadata (mongorestore does the same).
            if metadata is None:
                meta_rel = rel[: -len(filename)] + base + ".metadata.json"
                meta_facts = files.get(meta_rel) or files.get(meta_rel + ".gz")
                if meta_facts is not None:
                    metadata = parse_metadata_json(meta_facts.content, "%s: %s" % (path, meta_rel))
                    name = metadata.get("collectionName")
                    metadata = None
                else:
                    name = None
            else:
                name = metadata.get("collectionName")
            if not name:
                raise ArchiveError(
                    "%s has a shortened name and no metadata with the full one; the dump is "
                    "incomplete." % where
                )
        else:
            try:
                name = unescape_collection_name(base)
            except UnicodeDecodeError as exc:
                raise ArchiveError("%s does not name a collection (%s)." % (where, exc)) from exc
        if name.startswith("system.") or name.startswith("$"):
            inventory.skipped.append({"path": rel, "reason": "system collection"})
            continue
        if db == "local":
            inventory.skipped.append({"path": rel, "reason": "the local database is not restored"})
            continue
        check_database_name(db, where)
        entry = entries.get((db, name))
        if entry is None:
            entry = entries[(db, name)] = CollectionEntry(db, name)
        if metadata is not None:
            if entry.metadata_path is not None:
                raise ArchiveError("%s holds two metadata files for %s.%s." % (path, db, name))
            entry.metadata = metadata
            entry.metadata_path = rel
            entry.collection_type = metadata.get("type") or "collection"
        else:
            if entry.data_path is not None:
                raise ArchiveError("%s holds two data files for %s.%s." % (path, db, name))
            entry.data_path = rel
            entry.documents = facts.documents
            entry.size = facts.bson_size
            entry.sha256 = facts.bson_sha256
    for entry in entries.values():
        if entry.collection_type in ("view", "timeseries"):
            inventory.skipped.append(
                {
                    "path": entry.metadata_path,
                    "reason": "%s is not supported" % entry.collection_type,
                }
            )
            continue
        inventory.collections.append(entry)
    if manifest is not None:
        _verify_manifest_collections(path, manifest, inventory.collections)
    return inventory


def _verify_manifest(path, manifest, files, prefix):
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        raise ArchiveError("%s: manifest.json lists no files; the backup is damaged." % path)
    present = set()
    for rel, facts in files.items():
        if rel == prefix + MANIFEST_NAME:
            continue
        name = rel[len(prefix) :] if rel.startswith(prefix) else None
        expected = listed.get(name) if name is not None else None
        if expected is None:
            raise ArchiveError(
                "%s holds %s, which its manifest does not list; the backup was changed after "
                "it was written, so it is refused: restore another backup." % (path, rel)
            )
        present.add(name)
        if expected.get("size") != facts.size or expected.get("sha256") != facts.sha256:
            raise ArchiveError(
                "%s: %s does not match its checksum in the manifest (%d bytes, sha256 %s..., "
                "the manifest says %s bytes, %s...); the backup is damaged: restore another one."
                % (
                    path,
                    rel,
                    facts.size,
                    facts.sha256[:12],
                    expected.get("size"),
                    str(expected.get("sha256"))[:12],
                )
            )
    for name in listed:
        if name not in present:
            raise ArchiveError(
                "%s lacks %s, which its manifest lists; the backup is incomplete: restore "
                "another one." % (path, name)
            )


def _verify_manifest_collections(path, manifest, collections):
    by_ns = {c.namespace: c for c in collections}
    for item in manifest.get("collections") or []:
        ns = "%s.%s" % (item.get("database"), item.get("collection"))
        entry = by_ns.get(ns)
        if entry is None:
            raise ArchiveError(
                "%s: the manifest lists collection %s, which the backup does not hold; it is "
                "damaged: restore another one." % (path, ns)
            )
        if item.get("documents") != entry.documents or item.get("sha256") != entry.sha256:
            raise ArchiveError(
                "%s: collection %s holds %d documents (sha256 %s...), the manifest says %s "
                "(%s...); the backup is damaged: restore another one."
                % (
                    path,
                    ns,
                    entry.documents,
                    entry.sha256[:12],
                    item.get("documents"),
                    str(item.get("sha256"))[:12],
                )
            )


# --- reading: mongodump --archive -------------------------------------------------------------

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
                "another one." % (self.path, what, _short(exc))
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
        return _after_end(self.path, count, "mongodump archive", start, not self.compressed)

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
                            entry.collection_type not in ("view", "timeseries")
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
        except _READ_ERRORS as exc:
            raise ArchiveError(
                "%s cannot be read (%s); it is truncated or damaged: restore another one."
                % (self.path, _short(exc))
            ) from exc

    def scan(self):
        with self._gzip_checked():
            for _ in self._events():
                pass
        inventory = Inventory(self.path, self.container)
        inventory.server_version = self._header.get("server_version")
        inventory.tool_version = self._header.get("tool_version")
        for entry in self._entries:
            if entry.db == "" and entry.name == "oplog":
                inventory.skipped.append(
                    {"path": "oplog", "reason": "oplog replay is not supported"}
                )
            elif entry.name.startswith("system.") or entry.db == "local":
                inventory.skipped.append({"path": entry.namespace, "reason": "system collection"})
            elif entry.collection_type in ("view", "timeseries"):
                inventory.skipped.append(
                    {
                        "path": entry.namespace,
                        "reason": "%s is not supported" % entry.collection_type,
                    }
                )
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


# --- helpers -----------------------------------------------------------------------------------


def _short(exc):
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def verify_backup(path):
    """Fully verify a backup tarball (or any dump): returns its Inventory or raises."""
    source = open_source(path)
    return source.scan()
