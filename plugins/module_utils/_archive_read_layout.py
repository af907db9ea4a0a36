# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading the mongodump directory layout from a directory (``DirectorySource``) or a tar,
gzipped or not (``TarSource``): every file examined once (hashed as stored, a data file's
documents framed, counted and hashed, a JSON file kept), tar members and the tar's end
checked, and the documents streamed again for a restore, checked again as they pass."""

from __future__ import annotations

import hashlib
import os
import queue
import re
import stat
import tarfile
import threading

from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_bson import (
    iter_bson_chunks,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_format import (
    CHUNK_SIZE,
    MAX_JSON_SIZE,
    READ_ERRORS,
    TAR_BLOCK,
    ArchiveError,
    gzip_reader,
    short_error,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_layout import (
    build_inventory,
    is_data_file,
    is_json_file,
    layout_order,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_source import (
    Source,
    after_end,
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
    plain_data = is_data_file(path) and not compressed
    reader = stream if plain_data else _HashingReader(stream)
    where = "%s: %s" % (source, path)
    sha = _BackgroundSha256()
    try:
        inner = gzip_reader(reader) if compressed else reader
        if is_data_file(path):
            count = size = 0
            for chunk, offsets in iter_bson_chunks(inner, where):
                sha.update(chunk)
                count += len(offsets)
                size += len(chunk)
            facts.documents, facts.bson_size, facts.bson_sha256 = count, size, sha.hexdigest()
        elif is_json_file(path):
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
    except READ_ERRORS as exc:
        raise ArchiveError(
            "%s cannot be read (%s); it is truncated or damaged: restore another backup."
            % (where, short_error(exc))
        ) from exc
    finally:
        sha.close()
    if plain_data:
        facts.size, facts.sha256 = facts.bson_size, facts.bson_sha256
    else:
        facts.size, facts.sha256 = reader.size, reader.sha.hexdigest()
    return facts


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
        at = self.raw.tell() if 0 <= size <= TAR_BLOCK else -1
        data = self.raw.read(size)
        if at >= 0:
            self.block, self.at = data, at
        return data

    def seek(self, offset, whence=os.SEEK_SET):
        return self.raw.seek(offset, whence)

    def tell(self):
        return self.raw.tell()


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
        self.inventory = build_inventory(self.path, self.container, files)
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
            except READ_ERRORS as exc:
                raise ArchiveError(
                    "%s: %s cannot be read any more (%s); nothing was swapped in."
                    % (self.path, path, short_error(exc))
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
        return layout_order(found)

    def _files(self):
        for rel in self._walk():
            with open(os.path.join(self.path, rel), "rb") as stream:
                yield _examine(stream, rel, self.path)

    def _streams(self, wanted):
        for rel in self._walk():
            if rel in wanted:
                with open(os.path.join(self.path, rel), "rb") as stream:
                    yield rel, stream


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
            except READ_ERRORS as exc:
                raise ArchiveError(
                    "%s is not a complete, readable tar (%s); it is truncated or damaged: "
                    "restore another backup." % (self.path, short_error(exc))
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
                raise after_end(self.path, count, "tar archive", at, not self.compressed)
            zeros += len(data)
            data = watch.raw.read(CHUNK_SIZE)
        if zeros < 2 * TAR_BLOCK:
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
