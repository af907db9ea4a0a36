# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Bring a set of files and directories to the given content and modes, in one pass.

ansible.builtin.copy/template/file do this one path per task, and a loop over twenty paths
costs twenty module runs (most of a rerun's time with nothing to do). This does the same
comparison for all of them in one run: a path is written only when its bytes or mode
differ, through a temporary file in the same directory and a rename, so a reader never
sees half a file.
"""

from __future__ import annotations

import os
import stat
import tempfile


class WriteFilesError(Exception):
    """A path that cannot be brought to its state; the message says which and what to do."""


def parse_mode(mode, where):
    """An octal mode string ('0644', '644') or int as an int; None stays None."""
    if mode is None:
        return None
    if isinstance(mode, int):
        return mode
    try:
        return int(str(mode), 8)
    except ValueError:
        raise WriteFilesError(
            "%s: mode %r is not an octal number; write it quoted, such as '0644'." % (where, mode)
        ) from None


def _current_mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def _write_atomically(path, data, mode):
    directory = os.path.dirname(path) or "."
    fd, temp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def _ensure_parents(path, directory_mode, check_mode, created):
    """Create the missing parent directories of ``path``; record them in ``created``."""
    missing = []
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.isdir(parent):
        if os.path.lexists(parent):
            raise WriteFilesError(
                "%s exists and is not a directory, so %s cannot be written under it; move it "
                "away." % (parent, path)
            )
        missing.append(parent)
        parent = os.path.dirname(parent)
    for directory in reversed(missing):
        if not check_mode:
            os.mkdir(directory, directory_mode)
            os.chmod(directory, directory_mode)  # not narrowed by the umask
        created.append(directory)


def apply(entries, directory_mode=0o755, check_mode=False):
    """Bring each entry ({path, state, content, mode, force}) to its state.

    Returns (results, diffs, created_dirs): per entry {path, state, changed, action} (action
    is one of created, updated, mode, unchanged, kept), the before/after of each changed
    file, and the directories made.
    """
    results = []
    diffs = []
    created_dirs = []
    for entry in entries:
        path = entry["path"]
        if not os.path.isabs(path):
            raise WriteFilesError("path %r is relative; give an absolute path." % path)
        mode = parse_mode(entry.get("mode"), path)
        state = entry.get("state") or "file"
        if state == "directory":
            results.append(_directory(path, mode, directory_mode, check_mode, created_dirs))
            continue
        content = entry.get("content")
        if content is None:
            raise WriteFilesError("%s: give its content (state file)." % path)
        data = content.encode("utf-8")
        mode = 0o644 if mode is None else mode
        _ensure_parents(path, directory_mode, check_mode, created_dirs)
        result, diff = _file(path, data, mode, entry.get("force", True), check_mode)
        results.append(result)
        if diff:
            diffs.append(diff)
    return results, diffs, created_dirs


def _directory(path, mode, directory_mode, check_mode, created_dirs):
    wanted = directory_mode if mode is None else mode
    if os.path.isdir(path) and not os.path.islink(path):
        if mode is not None and _current_mode(path) != mode:
            if not check_mode:
                os.chmod(path, mode)
            return {"path": path, "state": "directory", "changed": True, "action": "mode"}
        return {"path": path, "state": "directory", "changed": False, "action": "unchanged"}
    if os.path.lexists(path):
        raise WriteFilesError(
            "%s exists and is not a directory; move it away so the directory can be made." % path
        )
    _ensure_parents(os.path.join(path, "x"), directory_mode, check_mode, created_dirs)
    if not check_mode:
        os.chmod(path, wanted)
    return {"path": path, "state": "directory", "changed": True, "action": "created"}


def _file(path, data, mode, force, check_mode):
    exists = os.path.lexists(path)
    if exists and (os.path.islink(path) or not os.path.isfile(path)):
        raise WriteFilesError(
            "%s is not a regular file (a link or a directory); move it away so the file can be "
            "written." % path
        )
    if exists and not force:
        return {"path": path, "state": "file", "changed": False, "action": "kept"}, None
    current = _read(path) if exists else None
    if current == data:
        if _current_mode(path) == mode:
            return {"path": path, "state": "file", "changed": False, "action": "unchanged"}, None
        if not check_mode:
            os.chmod(path, mode)
        return {"path": path, "state": "file", "changed": True, "action": "mode"}, None
    if not check_mode:
        _write_atomically(path, data, mode)
    diff = {
        "before_header": path if exists else "%s (absent)" % path,
        "after_header": path,
        "before": _as_text(current) if exists else "",
        "after": _as_text(data),
    }
    action = "updated" if exists else "created"
    return {"path": path, "state": "file", "changed": True, "action": action}, diff


def _as_text(data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "(binary content)"
