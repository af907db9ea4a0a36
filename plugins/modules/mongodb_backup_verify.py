#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mongodb_backup_verify
short_description: Read a MongoDB backup end to end and say what it holds, writing nothing
version_added: 1.0.0
description:
  - Verifies O(src), or the newest backup under O(backup_dir), exactly as
    M(vhvcorp.devtools.mongodb_restore) verifies its input before it writes anything (the
    manifest and every checksum in it, the gzip checksums, the framing of every BSON
    document, the tar members, and that nothing follows the end of the data). It needs no
    server and writes nothing.
  - Reports its collections with their documents and bytes of BSON, and the totals.
  - Fails with one sentence naming the backup and what is wrong with it (truncated,
    damaged, a checksum that does not match, bytes appended).
  - Replaces the old nightly C(verify-backup) cron job (C(make verify-backup)).
author:
  - vhvcorp platform team (@vhvcorp)
attributes:
  check_mode:
    support: full
    details:
      - The same as a normal run; it only reads.
  diff_mode:
    support: none
  platform:
    platforms: posix
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  src:
    description:
      - The backup to verify, in any format M(vhvcorp.devtools.mongodb_restore) reads (our
        tarball, a mongodump directory or a tar of one, a C(mongodump --archive) file).
      - When not given, the newest backup (by the date in its name) in the C(daily/),
        C(weekly/) and C(monthly/) directories of O(backup_dir).
    type: path
  backup_dir:
    description:
      - The backup root, used when O(src) is not given.
    type: path
  prefix:
    description:
      - Name prefix of the backups under O(backup_dir), before C(-YYYY-MM-DD).
    type: str
    default: mongodb
seealso:
  - module: vhvcorp.devtools.mongodb_backup
  - module: vhvcorp.devtools.mongodb_restore
"""

EXAMPLES = r"""
- name: Verify the newest backup.
  vhvcorp.devtools.mongodb_backup_verify:
    backup_dir: "{{ workspace }}/backups"
  register: verified

- name: Say what it holds.
  ansible.builtin.debug:
    msg: >-
      {{ verified.path }}: {{ verified.collection_count }} collections,
      {{ verified.documents }} documents, {{ verified.bytes }} bytes of BSON

- name: Verify one given backup.
  vhvcorp.devtools.mongodb_backup_verify:
    src: /backups/daily/mongodb-2026-11-24.tar.gz
"""

RETURN = r"""
path:
  description: The backup verified.
  returned: always
  type: str
  sample: /home/dev/workspace/go-platform/backups/daily/mongodb-2026-11-24.tar.gz
format:
  description: V(backup) (made by M(vhvcorp.devtools.mongodb_backup), with a manifest) or
    V(mongodump).
  returned: always
  type: str
  sample: backup
container:
  description: V(directory), V(tar), V(tar.gz), V(archive) or V(archive.gz).
  returned: always
  type: str
  sample: tar.gz
server_version:
  description: Version of the server the dump was taken from, when it says.
  returned: always
  type: str
  sample: 7.0.42
tool_version:
  description: The tool that wrote the dump, when it says.
  returned: always
  type: str
  sample: vhvcorp.devtools 1.0.0
created:
  description: When the backup was taken (backups with a manifest only).
  returned: always
  type: str
  sample: "2026-11-24T02:00:00Z"
size:
  description: Bytes of the file; V(null) for a directory.
  returned: always
  type: int
  sample: 10240
collection_count:
  description: Number of collections.
  returned: always
  type: int
  sample: 6
documents:
  description: Number of documents, in all collections.
  returned: always
  type: int
  sample: 20
bytes:
  description: Bytes of BSON, in all collections (uncompressed).
  returned: always
  type: int
  sample: 8192
collections:
  description: Every collection, as verified.
  returned: always
  type: list
  elements: dict
  sample:
    - {database: go_dev, collection: users, namespace: go_dev.users, documents: 4,
       bytes: 1536, sha256: 9f86d0..., indexes: [_id_, email_1]}
  contains:
    database:
      description: Database.
      type: str
      returned: always
    collection:
      description: Collection.
      type: str
      returned: always
    namespace:
      description: C(<database>.<collection>).
      type: str
      returned: always
    documents:
      description: Documents.
      type: int
      returned: always
    bytes:
      description: Bytes of BSON.
      type: int
      returned: always
    sha256:
      description: SHA-256 of its BSON.
      type: str
      returned: always
    indexes:
      description: Index names in its metadata.
      type: list
      elements: str
      returned: always
skipped:
  description: Files of the dump a restore would not restore, and why.
  returned: always
  type: list
  elements: dict
  sample: [{path: oplog.bson, reason: oplog replay is not supported}]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vhvcorp.devtools.plugins.module_utils._errors import DevtoolsError
from ansible_collections.vhvcorp.devtools.plugins.module_utils.backup_verify import verify


def argument_spec():
    """The module's options."""
    return dict(
        src=dict(type="path"),
        backup_dir=dict(type="path"),
        prefix=dict(type="str", default="mongodb"),
    )


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_one_of=[("src", "backup_dir")],
        supports_check_mode=True,
    )
    params = module.params
    try:
        result = verify(params["src"], params["backup_dir"], params["prefix"])
    except DevtoolsError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(
            msg="Cannot read %r (%s); check the path and its permissions."
            % (params["src"] or params["backup_dir"], exc)
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
