#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mongodb_migrate
short_description: Apply or revert versioned MongoDB migrations, in order, once each
version_added: 1.0.0
description:
  - Runs the migrations in O(src) that are not yet applied to O(database), in version
    order (O(direction=up)), or reverts applied ones, newest first (O(direction=down)).
    A rerun with nothing pending reports RV(ignore:changed=false).
  - "Files are named C(<version>_<name>.yml) or C(<version>_<name>.py); the version is the
    leading digits (C(0001)), compared as a number. YAML migrations hold C(description),
    C(up) and optionally C(down), lists of operations: C(create_collection),
    C(drop_collection), C(create_index), C(drop_index), C(insert), C(update) (C(filter),
    C(update)), C(delete), C(rename_field) (C(from), C(to)) and C(rename_collection). Python
    migrations define C(up(db)) and optionally C(down(db)), where C(db) is a pymongo
    Database. A migration without a down cannot be reverted."
  - Each applied migration is recorded in O(migrations_collection) with its version, name,
    the sha256 checksum of its file, when it was applied, how long it took and by whom.
  - Refuses to run anything when the file of an applied migration has changed since it was
    applied; the message names the file, both checksums and how to resolve it.
  - Takes a lock first, a document in O(lock_collection) created atomically (unique C(_id)),
    with an owner and an expiry O(lock_ttl) seconds ahead, renewed before each migration.
    A second run waits up to O(lock_timeout) seconds and then fails naming the holder. A
    lock left by a run that died expires and is taken over. No transactions are needed, so
    this works on FerretDB.
  - FerretDB and MongoDB without a replica set have no transactions, so a migration that
    fails half way keeps what it did and is not recorded. The YAML operations are safe to
    rerun over their own result; write Python migrations that are too.
  - Replaces the old C(scripts/database/migrate.sh) (C(make db-migrate)). The platform's
    migrations ship in the C(database) role's C(files/migrations) directory.
author:
  - vhvcorp platform team (@vhvcorp)
extends_documentation_fragment:
  - vhvcorp.devtools.mongodb
attributes:
  check_mode:
    support: full
    details:
      - Verifies the checksums, reads every migration that would run, and lists them with
        status C(would apply) or C(would revert). Takes no lock and writes nothing.
  diff_mode:
    support: none
options:
  src:
    description:
      - Directory with the migration files.
      - The C(database) role's default is its C(files/migrations) directory.
    type: path
    required: true
  database:
    description:
      - Database to migrate.
    type: str
    default: go_dev
  direction:
    description:
      - V(up) applies pending migrations up to and including O(target).
      - V(down) reverts applied migrations above O(target), newest first.
    type: str
    choices: [up, down]
    default: up
  target:
    description:
      - Version to stop at, as in the file names (V(0002) or V(2)).
      - With O(direction=up), left out means all pending migrations.
      - With O(direction=down), left out means only the newest applied migration;
        V(0) reverts all.
    type: str
  migrations_collection:
    description:
      - Collection that records the applied migrations.
    type: str
    default: migrations
  lock_collection:
    description:
      - Collection that holds the run lock. No dots in the name, FerretDB refuses them.
    type: str
    default: migrations_lock
  lock_timeout:
    description:
      - Seconds to wait for another run's lock before failing.
    type: float
    default: 60
  lock_ttl:
    description:
      - Seconds a lock stays valid without renewal. It is renewed before each migration, so
        make it longer than the slowest single migration. A lock left by a dead run is taken
        over after this.
    type: float
    default: 600
seealso:
  - module: vhvcorp.devtools.mongodb_seed
  - module: vhvcorp.devtools.mongodb_reset
"""

EXAMPLES = r"""
- name: See which migrations would run (writes nothing).
  vhvcorp.devtools.mongodb_migrate:
    database: go_dev
    src: "{{ playbook_dir }}/roles/database/files/migrations"
  check_mode: true
  register: preview

- name: Apply every pending migration.
  vhvcorp.devtools.mongodb_migrate:
    uri: mongodb://127.0.0.1:27017/
    database: go_dev
    src: "{{ playbook_dir }}/roles/database/files/migrations"
  register: migrated

- name: Migrate again.
  vhvcorp.devtools.mongodb_migrate:
    database: go_dev
    src: "{{ playbook_dir }}/roles/database/files/migrations"
  register: again

- name: The second run had nothing to do.
  ansible.builtin.assert:
    that:
      - migrated.applied == preview.applied
      - migrated.changed == preview.changed
      - not again.changed
      - again.pending == []

- name: Revert everything after version 0001.
  vhvcorp.devtools.mongodb_migrate:
    database: go_dev
    src: "{{ playbook_dir }}/roles/database/files/migrations"
    direction: down
    target: "0001"

- name: Apply again, up to 0002 only.
  vhvcorp.devtools.mongodb_migrate:
    database: go_dev
    src: "{{ playbook_dir }}/roles/database/files/migrations"
    target: "0002"
"""

RETURN = r"""
database:
  description: The database migrated.
  returned: always
  type: str
  sample: go_dev
direction:
  description: The direction run.
  returned: always
  type: str
  sample: up
migrations:
  description: The migrations run (or that would be, in check mode), in the order run.
  returned: always
  type: list
  elements: dict
  sample:
    - version: "0001"
      name: initial_schema
      file: 0001_initial_schema.yml
      kind: yaml
      checksum: 65f2ce66013e2b9c398611a8dbea7210aaa848d3976ea8bf763214d7ff6a6b8a
      direction: up
      status: applied
      duration_seconds: 0.031
  contains:
    version:
      description: The version, as written in the file name.
      type: str
      returned: always
      sample: "0001"
    name:
      description: The file name's part after the version, without the extension.
      type: str
      returned: always
      sample: initial_schema
    file:
      description: The file name.
      type: str
      returned: always
      sample: 0001_initial_schema.yml
    kind:
      description: V(yaml) or V(python).
      type: str
      returned: always
      sample: yaml
    checksum:
      description: sha256 of the file.
      type: str
      returned: always
      sample: 65f2ce66013e2b9c398611a8dbea7210aaa848d3976ea8bf763214d7ff6a6b8a
    direction:
      description: V(up) or V(down).
      type: str
      returned: always
      sample: up
    status:
      description: V(applied), V(reverted), V(would apply) or V(would revert).
      type: str
      returned: always
      sample: applied
    duration_seconds:
      description: How long it ran.
      type: float
      returned: when it ran (not in check mode)
      sample: 0.031
applied:
  description: Versions applied after this run (in check mode, after a real run).
  returned: always
  type: list
  elements: str
  sample: ["0001", "0002", "0003"]
pending:
  description: Versions in O(src) not applied after this run.
  returned: always
  type: list
  elements: str
  sample: []
current_version:
  description: The highest applied version, V(null) when none is.
  returned: always
  type: str
  sample: "0003"
lock:
  description: The lock this run held; V(null) in check mode.
  returned: always
  type: dict
  sample: {owner: "laptop:4242:9f1c2a3b", waited_seconds: 0.004, took_over_stale: null}
  contains:
    owner:
      description: This run's owner id (host:pid:random).
      type: str
      returned: success
      sample: "laptop:4242:9f1c2a3b"
    waited_seconds:
      description: Seconds spent waiting for another run's lock.
      type: float
      returned: success
      sample: 0.004
    took_over_stale:
      description: Owner of an expired lock that was taken over, else V(null).
      type: str
      returned: success
      sample: null
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vhvcorp.devtools.plugins.module_utils._errors import COLLECTION_NAME
from ansible_collections.vhvcorp.devtools.plugins.module_utils._migration_lock import (
    MigrationLockError,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb import (
    check_libraries,
    mongodb_argument_spec,
    mongodb_session,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb_migrate import (
    MigrationError,
    discover,
    migrate,
    parse_target,
)


def argument_spec():
    """The module's options: the shared connection options and its own."""
    return mongodb_argument_spec(
        src=dict(type="path", required=True),
        database=dict(type="str", default="go_dev"),
        direction=dict(type="str", choices=["up", "down"], default="up"),
        target=dict(type="str"),
        migrations_collection=dict(type="str", default="migrations"),
        lock_collection=dict(type="str", default="migrations_lock"),
        lock_timeout=dict(type="float", default=60.0),
        lock_ttl=dict(type="float", default=600.0),
    )


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
    )
    check_libraries(module, need_yaml=True)
    params = module.params
    for option in ("migrations_collection", "lock_collection"):
        if not COLLECTION_NAME.match(params[option]):
            module.fail_json(
                msg="Option `%s` is %r; use a plain collection name (letters, digits, '_', "
                "'-'; no dots, which FerretDB refuses)." % (option, params[option])
            )
    for option in ("lock_timeout", "lock_ttl"):
        if params[option] < 0 or (option == "lock_ttl" and params[option] == 0):
            module.fail_json(
                msg="Option `%s` is %r; give a number of seconds above 0."
                % (option, params[option])
            )
    try:
        parse_target(params["target"], discover(params["src"]))  # fail before connecting
    except MigrationError as exc:
        module.fail_json(msg=str(exc))

    with mongodb_session(module, "migrate database %r" % params["database"]) as client:
        try:
            result = migrate(
                client[params["database"]],
                params["src"],
                direction=params["direction"],
                target=params["target"],
                check_mode=module.check_mode,
                collection=params["migrations_collection"],
                lock_collection=params["lock_collection"],
                lock_timeout=params["lock_timeout"],
                lock_ttl=params["lock_ttl"],
            )
        except (MigrationError, MigrationLockError) as exc:
            module.fail_json(msg=str(exc), migrations=getattr(exc, "done", []))

    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(database=params["database"], direction=params["direction"], **result)


if __name__ == "__main__":
    main()
