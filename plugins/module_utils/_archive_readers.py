# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a path holds, and the reader for it: ``open_source(path)`` gives a Source for a
mongodump directory, a tar of one (gzipped or not, this collection's backup among them) or
a ``mongodump --archive`` file; ``verify_backup(path)`` verifies one whole."""

from __future__ import annotations

import os

from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_format import (
    ARCHIVE_MAGIC,
    GZIP_ERRORS,
    GZIP_MAGIC,
    TAR_BLOCK,
    ArchiveError,
    gzip_reader,
    short_error,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_read_layout import (
    DirectorySource,
    TarSource,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_read_mongodump import (
    ArchiveSource,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_source import (
    junk_after_gzip,
)


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
        head = handle.read(TAR_BLOCK + 8)
        compressed = head[:2] == GZIP_MAGIC
        if compressed:
            handle.seek(0)
            try:
                with gzip_reader(handle) as gz:
                    inner = gz.read(TAR_BLOCK + 8)
            except GZIP_ERRORS as exc:
                junk = junk_after_gzip(path)  # a small input's gzip data read to its end
                if junk is not None:
                    raise junk from exc
                raise ArchiveError(
                    "%s is not a readable gzip file (%s); it is truncated or damaged: "
                    "restore another backup." % (path, short_error(exc))
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


def verify_backup(path):
    """Fully verify a backup tarball (or any dump): returns its Inventory or raises."""
    source = open_source(path)
    return source.scan()
