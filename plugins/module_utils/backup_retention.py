# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Daily, weekly and monthly generations of backups, in daily/, weekly/ and monthly/.

Backups are named ``<prefix>-YYYY-MM-DD.tar.gz`` (optionally ``-YYYY-MM-DDTHHMMSS``), and
land in ``daily/``. Retention then keeps:

- in ``daily/``: the newest ``daily`` good backups;
- in ``weekly/``: for each of the newest ``weekly`` ISO weeks that have a good backup, the
  newest good backup of that week;
- in ``monthly/``: the same per calendar month, ``monthly`` of them.

A backup a generation keeps but that is not in its directory yet is hard-linked there (or
copied, where links are not possible). "Good" means it verifies: every checksum in its
manifest matches. Bad backups are never kept in place of good ones, and are deleted only
when asked. Whatever the counts, the newest good backup is never deleted. Files whose names
do not match are never touched.

``select()`` is the pure decision (tested on generated dates); ``apply()`` carries it out.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import uuid

from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_format import ArchiveError
from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_readers import verify_backup
from ansible_collections.vhvcorp.devtools.plugins.module_utils._errors import DevtoolsError

GENERATIONS = ("daily", "weekly", "monthly")
CACHE_NAME = ".verified.json"


class RetentionError(DevtoolsError):
    """A refusal whose message is one actionable sentence."""


def name_pattern(prefix):
    return re.compile(
        r"^%s-(?P<date>\d{4}-\d{2}-\d{2})(?:T(?P<time>\d{6}))?\.tar\.gz$" % re.escape(prefix)
    )


class Backup:
    """One backup name (the same name may sit in several generation directories)."""

    def __init__(self, name, when):
        self.name = name
        self.when = when  # datetime (date and, when the name has it, time)

    @property
    def week(self):
        iso = self.when.isocalendar()
        return (iso[0], iso[1])

    @property
    def month(self):
        return (self.when.year, self.when.month)

    def __repr__(self):
        return "Backup(%r)" % self.name


def parse_name(name, pattern):
    match = pattern.match(name)
    if not match:
        return None
    try:
        when = datetime.datetime.strptime(match.group("date"), "%Y-%m-%d")
        if match.group("time"):
            clock = datetime.datetime.strptime(match.group("time"), "%H%M%S").time()
            when = datetime.datetime.combine(when.date(), clock)
    except ValueError:
        return None
    return Backup(name, when)


def select(backups, daily=7, weekly=4, monthly=12, is_good=lambda backup: True):
    """Which backup names each generation keeps.

    ``backups`` are Backup objects (one per name); ``is_good(backup)`` is asked lazily,
    newest first, and only as far as needed. Returns {"daily": [names], "weekly": [...],
    "monthly": [...], "newest": name or None, "bad": [names found bad]}; lists newest first.
    """
    ordered = sorted(backups, key=lambda b: (b.when, b.name), reverse=True)
    verdicts = {}

    def good(backup):
        if backup.name not in verdicts:
            verdicts[backup.name] = bool(is_good(backup))
        return verdicts[backup.name]

    newest = next((b for b in ordered if good(b)), None)
    keep = {"daily": [], "weekly": [], "monthly": []}
    for backup in ordered:
        if len(keep["daily"]) >= daily:
            break
        if good(backup):
            keep["daily"].append(backup.name)
    for generation, count, period in (("weekly", weekly, "week"), ("monthly", monthly, "month")):
        seen = set()
        for backup in ordered:
            if len(keep[generation]) >= count:
                break
            key = getattr(backup, period)
            if key in seen or not good(backup):
                continue
            seen.add(key)
            keep[generation].append(backup.name)
    if newest is not None and not any(newest.name in names for names in keep.values()):
        keep["daily"].insert(0, newest.name)
    keep["newest"] = newest.name if newest is not None else None
    keep["bad"] = sorted(n for n, ok in verdicts.items() if not ok)
    return keep


class _VerifyCache:
    """Verdicts of earlier runs, keyed by inode, size and mtime (hard links share them)."""

    def __init__(self, root, enabled):
        self.path = os.path.join(root, CACHE_NAME)
        self.enabled = enabled
        self.data = {}
        self.dirty = False
        if enabled:
            try:
                with open(self.path) as handle:
                    loaded = json.load(handle)
                if isinstance(loaded, dict):
                    self.data = loaded
            except (OSError, ValueError):
                self.data = {}

    @staticmethod
    def key(path):
        st = os.stat(path)
        return "%d:%d:%d:%d" % (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def get(self, path):
        return self.data.get(self.key(path)) if self.enabled else None

    def put(self, path, verdict):
        if self.enabled:
            self.data[self.key(path)] = verdict
            self.dirty = True

    def save(self, live_keys):
        if not self.enabled or not self.dirty:
            return
        data = {k: v for k, v in self.data.items() if k in live_keys}
        temp = "%s.%s.tmp" % (self.path, uuid.uuid4().hex[:8])
        with open(temp, "w") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
        os.replace(temp, self.path)


def _scan(root, pattern):
    """{name: {generation: path}} of the backups found in the generation directories."""
    found = {}
    for generation in GENERATIONS:
        directory = os.path.join(root, generation)
        if not os.path.isdir(directory):
            continue
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            if pattern.match(name) and os.path.isfile(path) and not os.path.islink(path):
                found.setdefault(name, {})[generation] = path
    return found


def newest_backup(root, prefix="mongodb"):
    """The path of the newest backup (by the date in its name) under ``root``'s generation
    directories, or None."""
    pattern = name_pattern(prefix)
    found = _scan(root, pattern)
    named = [b for b in (parse_name(name, pattern) for name in found) if b is not None]
    if not named:
        return None
    newest = max(named, key=lambda b: (b.when, b.name))
    paths = found[newest.name]
    return next(paths[g] for g in GENERATIONS if g in paths)


def apply(
    root,
    daily=7,
    weekly=4,
    monthly=12,
    prefix="mongodb",
    verify=True,
    delete_invalid=False,
    check_mode=False,
):
    """Carry out the retention in ``root``; returns the module result."""
    for option, value in (("daily", daily), ("weekly", weekly), ("monthly", monthly)):
        if value is None or int(value) < 0:
            raise RetentionError(
                "Option `%s` is %r; give how many generations to keep (0 or more)."
                % (option, value)
            )
    if not os.path.isdir(root):
        raise RetentionError(
            "Option `path` is %r, which is not a directory; give the backup root that holds "
            "daily/ (where mongodb_backup writes)." % root
        )
    pattern = name_pattern(prefix)
    found = _scan(root, pattern)
    backups = []
    for name in found:
        backup = parse_name(name, pattern)
        if backup is not None:
            backups.append(backup)
    cache = _VerifyCache(root, enabled=verify and not check_mode)
    errors = {}
    this_run = {}

    def is_good(backup):
        if not verify:
            return True
        paths = found[backup.name]
        # Every copy must verify: a hard link is one file, a copy may differ.
        for path in sorted(set(paths.values())):
            key = _VerifyCache.key(path)
            verdict = this_run.get(key) or cache.get(path)
            if verdict is None:
                try:
                    verify_backup(path)
                    verdict = {"ok": True}
                except ArchiveError as exc:
                    verdict = {"ok": False, "error": str(exc)}
                cache.put(path, verdict)
            this_run[key] = verdict
            if not verdict.get("ok"):
                errors[path] = verdict.get("error", "does not verify")
                return False
        return True

    keep = select(backups, int(daily), int(weekly), int(monthly), is_good)
    kept = {g: set(keep[g]) for g in GENERATIONS}
    bad = set(keep["bad"])
    promoted = []
    deleted = []
    for generation in GENERATIONS:
        for name in keep[generation]:
            paths = found[name]
            if generation in paths:
                continue
            target = os.path.join(root, generation, name)
            source = sorted(paths.values())[0]
            promoted.append({"src": source, "dest": target, "generation": generation})
            if not check_mode:
                _link_or_copy(source, target)
                paths[generation] = target
    for name in sorted(found):
        for generation, path in sorted(found[name].items()):
            if name in kept[generation]:
                continue
            if name == keep["newest"]:
                continue  # never, whatever the counts
            if name in bad and not delete_invalid:
                continue
            deleted.append(path)
            if not check_mode:
                os.unlink(path)
    if not check_mode:
        live = set()
        for paths in found.values():
            for path in paths.values():
                if os.path.exists(path):
                    live.add(_VerifyCache.key(path))
        cache.save(live)
    newest = None
    if keep["newest"]:
        paths = found[keep["newest"]]
        newest = paths.get("daily") or sorted(paths.values())[0]
    return {
        "changed": bool(promoted or deleted),
        "kept": {g: list(keep[g]) for g in GENERATIONS},
        "newest": newest,
        "promoted": promoted,
        "deleted": sorted(deleted),
        "invalid": [{"path": p, "error": e} for p, e in sorted(errors.items())],
        "verified": verify,
    }


def _link_or_copy(source, target):
    os.makedirs(os.path.dirname(target), exist_ok=True)
    temp = "%s.%s.tmp" % (target, uuid.uuid4().hex[:8])
    try:
        os.link(source, temp)
    except OSError:
        shutil.copy2(source, temp)
    os.replace(temp, target)
