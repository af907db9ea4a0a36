# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""BSON documents as bytes: framing checks, chunks of whole documents, and reading ahead.

Documents are streamed as raw BSON bytes in chunks of whole documents, so memory stays
bounded whatever the size of a collection; only their framing is checked (each length
prefix plausible, each document ending with its NUL byte), they are never decoded.
``prefetch`` runs such a stream in a thread ahead of its consumer, bounded in bytes.
"""

from __future__ import annotations

import queue
import struct
import threading

from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_format import (
    CHUNK_SIZE,
    MAX_BSON_SIZE,
    MIN_BSON_SIZE,
    ArchiveError,
    RawBSONDocument,
)

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
