#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mongodb_reset
short_description: Drop the platform's MongoDB collections, then reseed them
version_added: 1.0.0
description:
  - Drops the collections named in O(collections) (by default the platform's users,
    tenants, sessions, notifications, configs, audit_logs and migrations) from O(database),
    and reports how many documents each held. Collections that do not exist are skipped.
  - Refuses to drop anything unless O(confirm=true). It never drops a database, never
    touches the server's own databases (admin, local, config) and never drops a C(system.*)
    collection.
  - With O(reseed=true), loads the fixtures in O(src) afterwards, exactly as
    M(vhvcorp.devtools.mongodb_seed) does.
  - Refuses while a M(vhvcorp.devtools.mongodb_migrate) run holds its lock on the database,
    so a migration's records are not dropped under it, and holds that lock itself while it
    drops and reseeds, so a migration started meanwhile waits for it (its C(lock_timeout)).
  - Replaces the old C(scripts/database/reset.sh) (C(make db-reset)).
author:
  - vhvcorp platform team (@vhvcorp)
extends_documentation_fragment:
  - vhvcorp.devtools.mongodb
attributes:
  check_mode:
    support: full
    details:
      - Reports what would be dropped (with document counts) and what the reseed would
        insert, and drops nothing. Check mode works without O(confirm).
  diff_mode:
    support: none
options:
  database:
    description:
      - Database whose collections are dropped.
    type: str
    default: go_dev
  collections:
    description:
      - Collections to drop. The default is the platform's collections.
    type: list
    elements: str
    default: [users, tenants, sessions, notifications, configs, audit_logs, migrations]
  confirm:
    description:
      - Must be V(true) for anything to be dropped; without it the module fails and says
        what it would have dropped.
    type: bool
    default: false
  reseed:
    description:
      - Load the fixtures in O(src) after dropping.
    type: bool
    default: false
  src:
    description:
      - Fixtures directory for O(reseed) (format as in M(vhvcorp.devtools.mongodb_seed)).
        Required when O(reseed=true).
    type: path
seealso:
  - module: vhvcorp.devtools.mongodb_seed
  - module: vhvcorp.devtools.mongodb_migrate
"""

EXAMPLES = r"""
- name: See what a reset would drop (drops nothing, needs no confirmation).
  vhvcorp.devtools.mongodb_reset:
    database: go_dev
  check_mode: true
  register: preview

- name: Show it.
  ansible.builtin.debug:
    var: preview.dropped

- name: Reset the platform's collections and load the demo data again.
  vhvcorp.devtools.mongodb_reset:
    uri: mongodb://127.0.0.1:27017/
    database: go_dev
    confirm: true
    reseed: true
    src: "{{ playbook_dir }}/roles/database/files/fixtures"
  register: reset

- name: The demo data is back, and seeding again changes nothing.
  vhvcorp.devtools.mongodb_seed:
    database: go_dev
    src: "{{ playbook_dir }}/roles/database/files/fixtures"
  register: seed_after_reset

- name: Check it.
  ansible.builtin.assert:
    that:
      - reset.seed.inserted > 0
      - not seed_after_reset.changed

- name: Drop only the audit trail and notifications, without reseeding.
  vhvcorp.devtools.mongodb_reset:
    database: go_dev
    collections: [audit_logs, notifications]
    confirm: true
"""

RETURN = r"""
database:
  description: The database whose collections were dropped.
  returned: always
  type: str
  sample: go_dev
dropped:
  description:
    - The collections dropped (or that would be, in check mode), with the number of
      documents each held.
  returned: always
  type: list
  elements: dict
  sample: [{name: users, documents: 4}, {name: tenants, documents: 2}]
  contains:
    name:
      description: Collection name.
      type: str
      returned: always
      sample: users
    documents:
      description: Documents it held when it was dropped.
      type: int
      returned: always
      sample: 4
absent:
  description: Collections of O(collections) that did not exist, so were not dropped.
  returned: always
  type: list
  elements: str
  sample: [migrations]
seed:
  description:
    - What the reseed did, as M(vhvcorp.devtools.mongodb_seed) returns it (C(changed),
      C(inserted), C(updated), C(unchanged), C(collections)). V(null) without O(reseed).
  returned: always
  type: dict
  sample:
    changed: true
    inserted: 20
    updated: 0
    unchanged: 0
    collections:
      users:
        inserted: 4
        updated: 0
        unchanged: 0
        indexes_created: [email_1, tenant_id_1_status_1, created_at_-1]
        indexes_unchanged: []
"""

import functools

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vhvcorp.devtools.plugins.module_utils._errors import DevtoolsError
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb import (
    check_libraries,
    describe_target,
    mongodb_argument_spec,
    mongodb_session,
    server_capabilities,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb_reset import (
    PLATFORM_COLLECTIONS,
    check_request,
    reset,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb_seed import (
    load_fixtures,
    seed,
)


def argument_spec():
    """The module's options: the shared connection options and its own."""
    return mongodb_argument_spec(
        database=dict(type="str", default="go_dev"),
        collections=dict(type="list", elements="str", default=list(PLATFORM_COLLECTIONS)),
        confirm=dict(type="bool", default=False),
        reseed=dict(type="bool", default=False),
        src=dict(type="path"),
    )


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_if=[("reseed", True, ("src",))],
        supports_check_mode=True,
    )
    check_libraries(module, need_yaml=True)
    params = module.params
    fixtures = None
    try:
        check_request(params["database"], params["collections"])
        if params["reseed"]:
            # Read the fixtures before dropping anything: a broken file must not leave the
            # database empty.
            fixtures = load_fixtures(params["src"])
    except DevtoolsError as exc:
        module.fail_json(msg=str(exc))

    action = "reset database %r" % params["database"]
    with mongodb_session(module, action) as client:
        db = client[params["database"]]
        reseed = None
        if fixtures is not None:
            reseed = functools.partial(seed, db, fixtures, capabilities=server_capabilities(client))
        result = reset(
            db,
            collections=params["collections"],
            confirm=params["confirm"],
            reseed=reseed,
            check_mode=module.check_mode,
            target=describe_target(params),
        )

    if not params["confirm"] and module.check_mode and result["dropped"]:
        module.warn("A run without check mode would refuse: set confirm: true to drop these.")
    module.exit_json(database=params["database"], **result)


if __name__ == "__main__":
    main()
