#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mongodb_backup
short_description: Back up MongoDB into a verified tarball that mongorestore can read
version_added: 1.0.0
description:
  - Writes one gzip tarball into O(dest) holding the selected collections in mongodump's
    directory layout, C(<db>/<collection>.bson) and C(<db>/<collection>.metadata.json)
    (options, indexes, uuid and type, exactly as mongodump writes them), plus mongodump's
    C(prelude.json) and a C(manifest.json) with the tool and server versions, the time, and
    per collection the document count and the sha256 of its data. Unpacked
    (C(tar xzf)), the directory is what C(mongodump --out) makes, so MongoDB's own
    C(mongorestore) takes it as it is.
  - Documents are streamed as raw BSON batches from the server into the tarball, never
    decoded, so memory stays bounded whatever the size of the database.
  - The tarball is written under a hidden temporary name in O(dest)
    (C(.<name>.<pid>.<token>.partial)), read back and checked, and only then renamed to its
    final name. A failed or killed backup leaves nothing that looks like a good one; the next
    run removes temporary files whose process is gone.
  - A backup of the same O(name) (by default, of the same day) is replaced by the new one,
    atomically, once the new one is complete and verified.
  - Collections are read one after the other, not as of one instant; stop writers for a
    point-in-time backup. Views and C(system.*) collections are not backed up.
  - Refuses to back up a database that holds the journal of an interrupted
    M(vhvcorp.devtools.mongodb_restore) (part of its data may sit in a set-aside collection);
    run that module with O(vhvcorp.devtools.mongodb_restore#module:recover=true) first.
  - Refuses to back up a database while M(vhvcorp.devtools.mongodb_migrate) holds its lock
    on it (the default C(migrations_lock) collection) or M(vhvcorp.devtools.mongodb_restore)
    is writing to it, and does not keep a backup during which a migration started or ran, as
    it would hold the database half migrated. Refused at once, not waited for, as a migration
    may hold its lock for minutes; back up again once it has finished.
  - When the disk of O(dest) fills up, the backup fails saying so; its temporary file is
    removed and earlier backups are left as they were. In the C(database) role (and
    C(db-backup.yml)) retention runs only after a backup that succeeded.
  - Replaces the old C(scripts/database/backup.sh) (C(make db-backup)).
author:
  - vhvcorp platform team (@vhvcorp)
extends_documentation_fragment:
  - vhvcorp.devtools.mongodb
attributes:
  check_mode:
    support: full
    details:
      - Returns the path the backup would get and the collections it would hold, with their
        estimated document counts and index names, and writes nothing.
  diff_mode:
    support: none
options:
  dest:
    description:
      - Directory to write the backup into; created (mode 0750) when missing.
      - With M(vhvcorp.devtools.mongodb_backup_retention), give the C(daily/) directory of
        the backup root.
    type: path
    required: true
  name:
    description:
      - File name of the backup, with C(strftime) codes taken at the time of the backup, in
        UTC. It must end in C(.tar.gz) and must not start with a dot.
      - M(vhvcorp.devtools.mongodb_backup_retention) recognises
        C(<prefix>-YYYY-MM-DD.tar.gz) and C(<prefix>-YYYY-MM-DDTHHMMSS.tar.gz); use
        C(mongodb-%Y-%m-%dT%H%M%S.tar.gz) to keep several backups a day.
    type: str
    default: mongodb-%Y-%m-%d.tar.gz
  databases:
    description:
      - Databases to back up (C(mongodump --db)). Each must exist.
      - When left out, every database except C(admin), C(config) and C(local).
    type: list
    elements: str
  exclude_databases:
    description:
      - Databases to leave out.
    type: list
    elements: str
    default: []
  ns_include:
    description:
      - Only back up collections whose namespace C(<db>.<collection>) matches one of these
        patterns; C(*) matches any characters, C(\*) a literal star (mongorestore's
        C(--nsInclude) syntax). When left out, all collections of the selected databases.
    type: list
    elements: str
  ns_exclude:
    description:
      - Leave out collections whose namespace matches one of these patterns (same syntax as
        O(ns_include)).
    type: list
    elements: str
    default: []
  compression_level:
    description:
      - gzip level, 1 (fastest) to 9 (smallest). BSON compresses well at the lowest level;
        higher levels cost several times the CPU time for a few percent of size, and on a
        small machine the server needs that CPU to serve the backup.
    type: int
    default: 1
  verify:
    description:
      - How the tarball is checked before it gets its final name.
      - V(quick) reads the written file back and checks that it holds exactly the bytes that
        were written (the checksum of every part), after the documents' framing, counts and
        checksums were taken as they were written.
      - V(full) also reads the whole tarball the way M(vhvcorp.devtools.mongodb_restore)
        does (decompressing everything, checking every checksum in the manifest and the
        framing of every document), which takes about as long again as the compression.
    type: str
    choices: [quick, full]
    default: quick
seealso:
  - module: vhvcorp.devtools.mongodb_restore
  - module: vhvcorp.devtools.mongodb_backup_retention
  - name: mongodump
    description: MongoDB's dump tool, whose directory layout the backup follows.
    link: https://www.mongodb.com/docs/database-tools/mongodump/
notes:
  - The backup file is created with mode 0600 (it holds the data); change it with
    M(ansible.builtin.file) if others must read it.
"""

EXAMPLES = r"""
- name: See what a backup would hold (writes nothing).
  vhvcorp.devtools.mongodb_backup:
    uri: mongodb://127.0.0.1:27017/
    databases: [go_dev]
    dest: "{{ backup_root }}/daily"
  check_mode: true
  register: preview

- name: Back up the platform's database into today's daily archive.
  vhvcorp.devtools.mongodb_backup:
    uri: mongodb://127.0.0.1:27017/
    databases: [go_dev]
    dest: "{{ backup_root }}/daily"
  register: backup

- name: The backup holds what the preview announced.
  ansible.builtin.assert:
    that:
      - backup.path == preview.path
      - backup.collections | map(attribute='collection') | list
        == preview.collections | map(attribute='collection') | list
      - backup.size > 0

- name: Keep a week of dailies, a month of weeklies and a year of monthlies.
  vhvcorp.devtools.mongodb_backup_retention:
    path: "{{ backup_root }}"

- name: Restore it into a scratch database to prove it can be restored.
  vhvcorp.devtools.mongodb_restore:
    uri: mongodb://127.0.0.1:27017/
    src: "{{ backup.path }}"
    ns_from: ["go_dev.*"]
    ns_to: ["go_dev_check.*"]

- name: Back up only the users and tenants, fully verified, twice a day possible.
  vhvcorp.devtools.mongodb_backup:
    databases: [go_dev]
    ns_include: [go_dev.users, go_dev.tenants]
    dest: /var/backups/mongodb/adhoc
    name: mongodb-%Y-%m-%dT%H%M%S.tar.gz
    verify: full
"""

RETURN = r"""
path:
  description: The backup file (in check mode, the file it would be).
  returned: always
  type: str
  sample: /home/dev/workspace/go-platform/backups/daily/mongodb-2026-11-24.tar.gz
size:
  description: Size of the backup file in bytes; V(null) in check mode.
  returned: always
  type: int
  sample: 48213
created:
  description: When the backup was taken (UTC), as recorded in its manifest.
  returned: always
  type: str
  sample: "2026-11-24T02:00:00Z"
server_version:
  description: The version the server reports (FerretDB reports the MongoDB version it
    emulates).
  returned: always
  type: str
  sample: 7.0.42
databases:
  description: The databases the backup holds.
  returned: always
  type: list
  elements: str
  sample: [go_dev]
collections:
  description: The collections the backup holds, in the order they were written.
  returned: always
  type: list
  elements: dict
  sample:
    - {database: go_dev, collection: users, documents: 4, bytes: 912,
       sha256: 9c3f5a2cfd049778c878d523744fe334514348e91434570499959d02b844c391,
       indexes: [_id_, email_1]}
  contains:
    database:
      description: Database name.
      type: str
      returned: always
      sample: go_dev
    collection:
      description: Collection name.
      type: str
      returned: always
      sample: users
    documents:
      description: Documents written (in check mode, the server's estimate).
      type: int
      returned: always
      sample: 4
    bytes:
      description: Bytes of BSON written; V(null) in check mode.
      type: int
      returned: always
      sample: 912
    sha256:
      description: sha256 of the collection's C(.bson) file, as in the manifest; V(null) in
        check mode.
      type: str
      returned: always
      sample: 9c3f5a2cfd049778c878d523744fe334514348e91434570499959d02b844c391
    indexes:
      description: Names of the collection's indexes, recorded in its metadata.
      type: list
      elements: str
      returned: always
      sample: [_id_, email_1]
documents:
  description: Total of the collections' documents.
  returned: always
  type: int
  sample: 20
skipped:
  description: Collections of the selected databases that are not backed up (views), and
    why.
  returned: always
  type: list
  elements: dict
  sample: [{namespace: go_dev.active_users, reason: view is not backed up}]
replaced:
  description: Whether a backup of the same name existed (and was, or would be, replaced).
  returned: always
  type: bool
  sample: false
removed_partials:
  description: Temporary files of earlier backups whose process is gone, removed (or that
    would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/backups/daily/.mongodb-2026-11-24.tar.gz.4242.1f2e3d4c.partial]
verified:
  description: The O(verify) level the backup passed.
  returned: always
  type: str
  sample: quick
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb import (
    check_libraries,
    mongodb_argument_spec,
    mongodb_session,
    server_capabilities,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb_backup import (
    DEFAULT_NAME,
    run_backup,
)


def argument_spec():
    """The module's options: the shared connection options and its own."""
    return mongodb_argument_spec(
        dest=dict(type="path", required=True),
        name=dict(type="str", default=DEFAULT_NAME),
        databases=dict(type="list", elements="str"),
        exclude_databases=dict(type="list", elements="str", default=[]),
        ns_include=dict(type="list", elements="str"),
        ns_exclude=dict(type="list", elements="str", default=[]),
        compression_level=dict(type="int", default=1),
        verify=dict(type="str", choices=["quick", "full"], default="quick"),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    check_libraries(module)
    params = module.params
    action = "back up into %r" % params["dest"]
    with mongodb_session(module, action) as client:
        try:
            result = run_backup(
                client,
                params["dest"],
                name=params["name"],
                compression_level=params["compression_level"],
                verify=params["verify"],
                databases=params["databases"],
                exclude_databases=params["exclude_databases"],
                ns_include=params["ns_include"],
                ns_exclude=params["ns_exclude"],
                check_mode=module.check_mode,
                capabilities=server_capabilities(client),
            )
        except OSError as exc:
            module.fail_json(
                msg="Cannot write the backup into %r (%s); check that `dest` is a writable "
                "directory with enough free space." % (params["dest"], exc)
            )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
