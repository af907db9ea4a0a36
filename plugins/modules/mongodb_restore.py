#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mongodb_restore
short_description: Restore a MongoDB backup or dump, verified first, swapped in whole
version_added: 1.0.0
description:
  - Restores O(src) into MongoDB. O(src) may be a backup made by
    M(vhvcorp.devtools.mongodb_backup), a mongodump output directory (plain or made with
    C(--gzip)), a tar of either (gzipped or not), or a C(mongodump --archive) file (gzipped
    or not). The format is detected from the content.
  - Verifies the whole input first and writes nothing if any check fails. It checks the
    manifest and every checksum in it (backups of M(vhvcorp.devtools.mongodb_backup)), the
    CRC-64 of every collection (C(--archive) files), the gzip checksums, the framing of
    every BSON document, that no tar member is a link, a device or a path that would
    leave the directory it is unpacked into, and that nothing follows the end of the tar,
    the C(--archive) or the gzip data around them (a tar's zero padding to its record size
    aside); a file with bytes appended is refused with their count.
  - Each collection is loaded into a staging collection of its target database, with the
    dump's collection options, then its indexes are recreated from the dump's metadata. Only
    when every collection is complete is the restore committed, and the staging collections
    swapped in.
  - Swapping uses C(renameCollection) with C(dropTarget) where the server does it
    atomically (MongoDB). Where the server refuses it (FerretDB), the target is renamed
    aside, the staging collection renamed in and the old one dropped, with every step
    journaled in a C(__vhv_restore_journal) collection of the database. A run stopped
    between any two steps loses nothing; the next restore into any of its databases, or
    O(recover=true) (every database), finishes a committed restore and rolls back one that
    was not. A restore recovers only the databases it writes to (and the other databases of
    the runs it finds there), after O(src) is verified, so a refused input touches nothing.
    Between the two renames the target is briefly absent (its data is in the set-aside
    collection); stop the services that use it during a restore.
  - Restores into one database take turns. While it works, a restore (or O(recover=true))
    holds a lock document (C(_id) V(lock), with its host, process id, O(src) and start time) in
    the C(__vhv_restore_journal) collection of each database it writes to, taken atomically
    and given back at the end, whatever happened. A second restore into a database that is
    locked fails, changing nothing, with a message naming the running one. The lock of a
    process that is gone (on the same machine, a killed run or a lost server) is taken over,
    and that run finished or rolled back from its journal; one held from another machine
    counts as running for 12 hours from its start, or until deleted as the message says.
  - When the connection to the server is lost before the restore was committed, nothing was
    replaced; after it, the journal finishes the swap. Either way the next restore into the
    database (or O(recover=true)) makes it whole once the server answers again.
  - Only the collections in O(src) (after O(ns_include) and O(ns_exclude)) are touched;
    other collections of the target databases stay as they are.
  - A collection that already holds exactly the dump's documents (the same bytes, in the
    same order) and indexes is left alone, so running the same restore twice changes
    nothing the second time; O(force=true) restores it anyway.
  - Replaces the old C(scripts/database/restore.sh) (C(make db-restore)).
author:
  - vhvcorp platform team (@vhvcorp)
extends_documentation_fragment:
  - vhvcorp.devtools.mongodb
attributes:
  check_mode:
    support: full
    details:
      - Verifies O(src) completely and lists every collection that would be created,
        replaced, merged or left unchanged, with its documents in the dump and in the
        database now; with O(recover=true), lists the interrupted restores it would finish
        or roll back. Writes nothing.
  diff_mode:
    support: none
options:
  src:
    description:
      - The backup or dump to restore (see the description for the formats).
      - Required unless O(recover=true).
    type: path
  restore_mode:
    description:
      - V(drop) replaces each restored collection with the dump's (C(mongorestore --drop)).
      - V(merge) adds the dump's documents to each existing collection, keeping the
        documents that are already there when the C(_id) (or another unique key) is taken
        (C(mongorestore) without C(--drop)). The merge too happens in a staging collection
        (a copy of the target plus the dump), swapped in whole.
    type: str
    choices: [drop, merge]
    default: drop
  ns_include:
    description:
      - Only restore namespaces C(<db>.<collection>) of the dump that match one of these
        patterns (C(mongorestore --nsInclude)); C(*) matches any characters.
    type: list
    elements: str
  ns_exclude:
    description:
      - Do not restore namespaces of the dump that match one of these patterns
        (C(mongorestore --nsExclude)).
    type: list
    elements: str
    default: []
  ns_from:
    description:
      - Rename while restoring (C(mongorestore --nsFrom)); pairs with O(ns_to), pattern by
        pattern. C(*) is a wildcard carried over to the matching C(*) of O(ns_to), and
        C($name$) a named variable; for example C(prod.*) to C(dev.*), or
        C(prod.$coll$) to C($coll$_db.$coll$). The last matching pair wins.
    type: list
    elements: str
    default: []
  ns_to:
    description:
      - The targets of O(ns_from), one per pattern.
    type: list
    elements: str
    default: []
  force:
    description:
      - Restore collections that already hold exactly the dump's documents and indexes too.
    type: bool
    default: false
  recover:
    description:
      - Only finish or roll back restores that were interrupted (a killed run, a lost
        server), from their journals, then stop. O(src) is not needed and is ignored.
      - Looks in every database; a restore does this first anyway, but only for the
        databases it writes to.
    type: bool
    default: false
seealso:
  - module: vhvcorp.devtools.mongodb_backup
  - name: mongorestore
    description: MongoDB's restore tool, whose namespace options this module follows.
    link: https://www.mongodb.com/docs/database-tools/mongorestore/
notes:
  - FerretDB does not store Decimal128, MinKey, MaxKey, JavaScript code, NaN, arrays nested
    in arrays or C($)-prefixed keys; a dump holding them is refused by the server while
    loading, and the restore is undone with nothing replaced.
  - Users and roles, views, time series collections and the oplog are not restored.
"""

EXAMPLES = r"""
- name: See what restoring last night's backup would replace (verifies it, writes nothing).
  vhvcorp.devtools.mongodb_restore:
    uri: mongodb://127.0.0.1:27017/
    src: "{{ backup_root }}/daily/mongodb-2026-11-24.tar.gz"
  check_mode: true
  register: preview

- name: Show the collections and their counts, before and after.
  ansible.builtin.debug:
    msg: "{{ preview.collections | map(attribute='namespace') | zip(preview.collections
      | map(attribute='previous_documents'), preview.collections | map(attribute='documents'))
      | list }}"

- name: Restore it.
  vhvcorp.devtools.mongodb_restore:
    uri: mongodb://127.0.0.1:27017/
    src: "{{ backup_root }}/daily/mongodb-2026-11-24.tar.gz"
  register: restore

- name: Restore it again; nothing changes the second time.
  vhvcorp.devtools.mongodb_restore:
    uri: mongodb://127.0.0.1:27017/
    src: "{{ backup_root }}/daily/mongodb-2026-11-24.tar.gz"
  register: again

- name: Check both.
  ansible.builtin.assert:
    that:
      - restore is changed
      - again is not changed
      - again.collections | map(attribute='action') | unique | list == ['unchanged']

- name: Load a production dump (mongodump --archive --gzip) into the dev database names.
  vhvcorp.devtools.mongodb_restore:
    src: /tmp/prod.archive.gz
    ns_include: ["prod.*"]
    ns_exclude: [prod.audit_logs]
    ns_from: ["prod.*"]
    ns_to: ["go_dev.*"]

- name: Add a colleague's fixtures to what is there, keeping existing documents.
  vhvcorp.devtools.mongodb_restore:
    src: /tmp/fixtures-dump
    restore_mode: merge

- name: After a restore was killed, finish or undo it.
  vhvcorp.devtools.mongodb_restore:
    recover: true
  register: recovery

- name: Say what recovery did.
  ansible.builtin.debug:
    var: recovery.recovered
"""

RETURN = r"""
source:
  description: What O(src) holds, as verified; V(null) with O(recover=true).
  returned: always
  type: dict
  sample:
    path: /home/dev/workspace/go-platform/backups/daily/mongodb-2026-11-24.tar.gz
    format: backup
    container: tar.gz
    server_version: 7.0.42
    tool_version: vhvcorp.devtools 1.0.0
    created: "2026-11-24T02:00:00Z"
    collections: 6
    documents: 20
    skipped: []
  contains:
    path:
      description: O(src).
      type: str
      returned: always
      sample: /home/dev/workspace/go-platform/backups/daily/mongodb-2026-11-24.tar.gz
    format:
      description: V(backup) (made by M(vhvcorp.devtools.mongodb_backup), with a manifest)
        or V(mongodump).
      type: str
      returned: always
      sample: backup
    container:
      description: V(directory), V(tar), V(tar.gz), V(archive) or V(archive.gz).
      type: str
      returned: always
      sample: tar.gz
    server_version:
      description: Version of the server the dump was taken from, when it says.
      type: str
      returned: always
      sample: 7.0.42
    tool_version:
      description: The tool that wrote the dump, when it says.
      type: str
      returned: always
      sample: vhvcorp.devtools 1.0.0
    created:
      description: When the backup was taken (backups with a manifest only).
      type: str
      returned: always
      sample: "2026-11-24T02:00:00Z"
    collections:
      description: Number of collections in the dump.
      type: int
      returned: always
      sample: 6
    documents:
      description: Number of documents in the dump.
      type: int
      returned: always
      sample: 20
    skipped:
      description: Files or namespaces of the dump that are not restored, and why.
      type: list
      elements: dict
      returned: always
      sample: [{path: oplog.bson, reason: oplog replay is not supported}]
collections:
  description: Every collection of the dump selected for restoring, with what was done (or
    would be, in check mode).
  returned: always
  type: list
  elements: dict
  sample:
    - {source: prod.users, namespace: go_dev.users, database: go_dev, collection: users,
       action: replaced, documents: 4, previous_documents: 3, inserted: 4,
       duplicates_skipped: 0, indexes: [_id_, email_1]}
  contains:
    source:
      description: The namespace in the dump.
      type: str
      returned: always
      sample: prod.users
    namespace:
      description: The namespace restored into (after O(ns_from)/O(ns_to)).
      type: str
      returned: always
      sample: go_dev.users
    database:
      description: Target database.
      type: str
      returned: always
      sample: go_dev
    collection:
      description: Target collection.
      type: str
      returned: always
      sample: users
    action:
      description:
        - What was done, V(created), V(replaced), V(merged) or V(unchanged).
        - In check mode, what would be done, V(create), V(replace), V(merge) or
          V(unchanged).
      type: str
      returned: always
      sample: replaced
    documents:
      description: Documents of the collection in the dump.
      type: int
      returned: always
      sample: 4
    previous_documents:
      description: Documents the target held before; V(null) when it did not exist.
      type: int
      returned: always
      sample: 3
    inserted:
      description: Documents of the dump inserted (0 in check mode).
      type: int
      returned: always
      sample: 4
    duplicates_skipped:
      description: With O(restore_mode=merge), documents of the dump left out because the
        target already held their key.
      type: int
      returned: always
      sample: 0
    indexes:
      description: Index names the restored collection has.
      type: list
      elements: str
      returned: always
      sample: [_id_, email_1]
documents:
  description: Documents of the collections that were (or would be) restored.
  returned: always
  type: int
  sample: 20
skipped:
  description: Namespaces or files of the dump not restored, and why.
  returned: always
  type: list
  elements: dict
  sample: [{source: prod.audit_logs, reason: not included}]
recovered:
  description: Interrupted restores found in journals, and what was done with them
    (V(rolled_forward), V(rolled_back); in check mode V(would_roll_forward),
    V(would_roll_back); V(in_progress) for a run that is still working).
  returned: always
  type: list
  elements: dict
  sample: [{database: go_dev, run: 3f2a9c1d0b7e4a55, action: rolled_forward,
            collections: [users, tenants]}]
lock:
  description: The restore lock. RV(lock.took_over) lists the locks of runs whose process
    was gone, taken over (their runs are in RV(recovered)).
  returned: always
  type: dict
  sample: {took_over: [{database: go_dev, owner: "laptop:4242", started: "2026-11-24T02:00:00"}]}
  contains:
    took_over:
      description: Database, owner (C(host:pid)) and start (UTC) of each lock taken over.
      returned: always
      type: list
      elements: dict
swap_method:
  description: How the collections were swapped in, V(atomic) (C(renameCollection) with
    C(dropTarget)) or V(journaled); V(null) when nothing was swapped.
  returned: always
  type: str
  sample: journaled
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb import (
    check_libraries,
    mongodb_argument_spec,
    mongodb_session,
    server_capabilities,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb_restore import (
    RestoreLock,
    recover,
    restore,
)


def argument_spec():
    """The module's options: the shared connection options and its own."""
    return mongodb_argument_spec(
        src=dict(type="path"),
        restore_mode=dict(type="str", choices=["drop", "merge"], default="drop"),
        ns_include=dict(type="list", elements="str"),
        ns_exclude=dict(type="list", elements="str", default=[]),
        ns_from=dict(type="list", elements="str", default=[]),
        ns_to=dict(type="list", elements="str", default=[]),
        force=dict(type="bool", default=False),
        recover=dict(type="bool", default=False),
    )


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_if=[("recover", False, ("src",))],
        supports_check_mode=True,
    )
    check_libraries(module)
    params = module.params
    if len(params["ns_from"]) != len(params["ns_to"]):
        module.fail_json(
            msg="Options `ns_from` (%r) and `ns_to` (%r) must have the same number of patterns; "
            "pair each source pattern with its target, e.g. ns_from: ['prod.*'], "
            "ns_to: ['dev.*']." % (params["ns_from"], params["ns_to"])
        )
    action = "restore %r" % params["src"]
    with mongodb_session(module, action) as client:
        try:
            capabilities = server_capabilities(client)
            if params["recover"]:
                if params["src"]:
                    module.warn(
                        "recover: true only recovers; `src` %r was not restored." % params["src"]
                    )
                lock = None if module.check_mode else RestoreLock(client)
                try:
                    recovered = recover(
                        client,
                        check_mode=module.check_mode,
                        drop_target=capabilities.get("rename_drop_target", True),
                        lock=lock,
                    )
                finally:
                    if lock is not None:
                        lock.release()
                result = dict(
                    changed=any(r["action"] != "in_progress" for r in recovered),
                    source=None,
                    collections=[],
                    documents=0,
                    skipped=[],
                    recovered=recovered,
                    swap_method=None,
                    lock=dict(took_over=lock.took_over if lock is not None else []),
                )
            else:
                result = restore(
                    client,
                    params["src"],
                    restore_mode=params["restore_mode"],
                    ns_include=params["ns_include"],
                    ns_exclude=params["ns_exclude"],
                    ns_from=params["ns_from"],
                    ns_to=params["ns_to"],
                    force=params["force"],
                    check_mode=module.check_mode,
                    capabilities=capabilities,
                )
        except OSError as exc:
            module.fail_json(
                msg="Cannot read `src` %r (%s); check the path and its permissions."
                % (params["src"], exc)
            )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
