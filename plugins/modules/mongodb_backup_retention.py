#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mongodb_backup_retention
short_description: Keep daily, weekly and monthly generations of MongoDB backups
version_added: 1.0.0
description:
  - Works in a backup root O(path) with the subdirectories C(daily/), C(weekly/) and
    C(monthly/). M(vhvcorp.devtools.mongodb_backup) writes into C(daily/); this module
    keeps the newest O(daily) backups in C(daily/), the newest good backup of each of the
    newest O(weekly) ISO weeks in C(weekly/), and the newest good backup of each of the
    newest O(monthly) months in C(monthly/). A backup a generation keeps is hard-linked into
    its directory (copied where links are impossible); the rest are deleted.
  - Backups are recognised by name, C(<prefix>-YYYY-MM-DD.tar.gz) or
    C(<prefix>-YYYY-MM-DDTHHMMSS.tar.gz); files with other names are never touched.
  - With O(verify=true) it verifies what it keeps. A backup whose manifest checksums do not
    match is not kept in place of a good one, is reported under RV(invalid), and is deleted
    only with O(delete_invalid=true). Verdicts are remembered in C(.verified.json) in
    O(path), per file (inode, size and modification time), so a backup is read once.
  - Whatever the counts, the newest good backup is never deleted.
author:
  - vhvcorp platform team (@vhvcorp)
attributes:
  check_mode:
    support: full
    details:
      - Verifies the backups and reports what would be linked into a generation and what
        would be deleted; changes nothing (and does not update the verdict cache).
  diff_mode:
    support: none
  platform:
    platforms: posix
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  path:
    description:
      - The backup root, holding C(daily/) (and, once retention ran, C(weekly/) and
        C(monthly/)).
    type: path
    required: true
  daily:
    description:
      - How many of the newest backups C(daily/) keeps.
    type: int
    default: 7
    aliases: [keep_daily]
  weekly:
    description:
      - How many weeks C(weekly/) keeps a backup of (the newest of each week).
    type: int
    default: 4
    aliases: [keep_weekly]
  monthly:
    description:
      - How many months C(monthly/) keeps a backup of (the newest of each month).
    type: int
    default: 12
    aliases: [keep_monthly]
  prefix:
    description:
      - Name prefix of the backups, before C(-YYYY-MM-DD).
    type: str
    default: mongodb
  verify:
    description:
      - Verify each backup before keeping it (decompress it and check every checksum of its
        manifest). Without it, every backup with a matching name counts as good.
    type: bool
    default: true
  delete_invalid:
    description:
      - Delete backups that fail verification (except that nothing deletes the newest good
        backup). By default they are left in place and reported.
    type: bool
    default: false
requirements:
  - pymongo >= 4.0 (its C(bson) package reads the backups' metadata) on the host that runs
    the module.
seealso:
  - module: vhvcorp.devtools.mongodb_backup
  - module: vhvcorp.devtools.mongodb_restore
"""

EXAMPLES = r"""
- name: Back up into today's daily archive.
  vhvcorp.devtools.mongodb_backup:
    databases: [go_dev]
    dest: "{{ backup_root }}/daily"
  register: backup

- name: See what retention would delete (changes nothing).
  vhvcorp.devtools.mongodb_backup_retention:
    path: "{{ backup_root }}"
  check_mode: true
  register: preview

- name: Keep 7 daily, 4 weekly and 12 monthly generations.
  vhvcorp.devtools.mongodb_backup_retention:
    path: "{{ backup_root }}"
    daily: 7
    weekly: 4
    monthly: 12
  register: retention

- name: Running it again changes nothing, and today's backup is kept.
  vhvcorp.devtools.mongodb_backup_retention:
    path: "{{ backup_root }}"
  register: again

- name: Check.
  ansible.builtin.assert:
    that:
      - retention.deleted == preview.deleted
      - again is not changed
      - retention.newest == backup.path
      - retention.invalid == []
"""

RETURN = r"""
kept:
  description: The backup names each generation keeps, newest first.
  returned: always
  type: dict
  sample:
    daily: [mongodb-2026-11-24.tar.gz, mongodb-2026-11-23.tar.gz]
    weekly: [mongodb-2026-11-24.tar.gz, mongodb-2026-11-16.tar.gz]
    monthly: [mongodb-2026-11-24.tar.gz, mongodb-2026-10-31.tar.gz]
  contains:
    daily:
      description: Kept in C(daily/).
      type: list
      elements: str
      returned: always
      sample: [mongodb-2026-11-24.tar.gz]
    weekly:
      description: Kept in C(weekly/).
      type: list
      elements: str
      returned: always
      sample: [mongodb-2026-11-24.tar.gz]
    monthly:
      description: Kept in C(monthly/).
      type: list
      elements: str
      returned: always
      sample: [mongodb-2026-11-24.tar.gz]
newest:
  description: The newest good backup (never deleted); V(null) when there is none.
  returned: always
  type: str
  sample: /home/dev/workspace/go-platform/backups/daily/mongodb-2026-11-24.tar.gz
promoted:
  description: Backups linked (or copied) into a generation's directory (or that would be).
  returned: always
  type: list
  elements: dict
  sample:
    - {src: /backups/daily/mongodb-2026-11-24.tar.gz,
       dest: /backups/weekly/mongodb-2026-11-24.tar.gz, generation: weekly}
deleted:
  description: Files deleted (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/backups/daily/mongodb-2026-11-10.tar.gz]
invalid:
  description: Backups that failed verification, with the reason.
  returned: always
  type: list
  elements: dict
  sample:
    - {path: /backups/daily/mongodb-2026-11-20.tar.gz,
       error: "db/users.bson does not match its checksum in the manifest"}
verified:
  description: Whether the backups were verified (O(verify)).
  returned: always
  type: bool
  sample: true
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_format import (
    BSON_IMPORT_ERROR,
    HAS_BSON,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils.backup_retention import (
    RetentionError,
    apply,
)


def argument_spec():
    return dict(
        path=dict(type="path", required=True),
        daily=dict(type="int", default=7, aliases=["keep_daily"]),
        weekly=dict(type="int", default=4, aliases=["keep_weekly"]),
        monthly=dict(type="int", default=12, aliases=["keep_monthly"]),
        prefix=dict(type="str", default="mongodb"),
        verify=dict(type="bool", default=True),
        delete_invalid=dict(type="bool", default=False),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    if params["verify"] and not HAS_BSON:
        module.fail_json(
            msg=missing_required_lib("pymongo").rstrip(".")
            + "; install it for that Python (pip install 'pymongo>=4'), or set verify: false.",
            exception=BSON_IMPORT_ERROR,
        )
    try:
        result = apply(
            params["path"],
            daily=params["daily"],
            weekly=params["weekly"],
            monthly=params["monthly"],
            prefix=params["prefix"],
            verify=params["verify"],
            delete_invalid=params["delete_invalid"],
            check_mode=module.check_mode,
        )
    except RetentionError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(
            msg="Cannot manage the backups in %r (%s); check that `path` is the backup root and "
            "writable." % (params["path"], exc)
        )
    for item in result["invalid"]:
        module.warn(
            "%s does not verify and is not kept as a generation: %s" % (item["path"], item["error"])
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
