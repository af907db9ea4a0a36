# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read a backup end to end without writing anything: the restore's own verification
(``_archive_readers.verify_backup``: manifest, checksums, gzip, BSON framing,
bytes after the end), with no server. The newest backup of a backup root is found by the
names retention keeps (``backup_retention``)."""

from __future__ import annotations

import os

from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_format import ArchiveError
from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_readers import (
    verify_backup,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._errors import DevtoolsError
from ansible_collections.vhvcorp.devtools.plugins.module_utils.backup_retention import (
    newest_backup,
)


class VerifyError(DevtoolsError):
    """The backup does not verify, or there is none; the message is one sentence."""


def verify(src=None, backup_dir=None, prefix="mongodb"):
    """Verify ``src``, or the newest backup under ``backup_dir``; returns the module result."""
    if not src:
        if not backup_dir:
            raise VerifyError("Give `src` (a backup) or `backup_dir` (where backups are).")
        src = newest_backup(backup_dir, prefix)
        if src is None:
            raise VerifyError(
                "%s holds no backup (%s-YYYY-MM-DD.tar.gz in daily/, weekly/ or monthly/); "
                "make one with db-backup.yml, or give `src`." % (backup_dir, prefix)
            )
    try:
        inventory = verify_backup(src)
    except ArchiveError as exc:
        reason = str(exc)
        # Most refusals begin with the path: said once, as the subject.
        if reason.startswith(src + " "):
            reason = "it " + reason[len(src) + 1 :]
        raise VerifyError("Backup %s does not verify: %s" % (src, reason)) from exc
    collections = [c.as_dict() for c in inventory.collections]
    result = dict(inventory.as_dict())
    result.update(
        changed=False,
        path=src,
        size=os.path.getsize(src) if os.path.isfile(src) else None,
        collections=collections,
        collection_count=len(collections),
        bytes=sum(c["bytes"] for c in collections),
    )
    return result
