#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mongodb_seed
short_description: Load fixture documents and indexes into MongoDB, idempotently
version_added: 1.0.0
description:
  - Reads a fixtures directory with one file per collection and upserts every document by
    its C(_id) into O(database). A document equal to the one in the database is left
    alone, so a rerun reports RV(ignore:changed=false) and every document as unchanged.
  - Creates the indexes the fixtures declare in C(<collection>.indexes.yml) files, unless
    an index with the same keys and options exists already.
  - Replaces the old C(scripts/database/seed.sh) (C(make db-seed)). The platform's data
    (a demo tenant with an admin and users, global, tenant and feature-flag configs, audit
    logs, notifications, sessions) and indexes ship in the C(database) role's
    C(files/fixtures) directory; its C(db-seed.yml) playbook passes that path as O(src).
  - "Fixture files, named after their collection: C(<collection>.json), a JSON array of
    documents in MongoDB Extended JSON (C({\"$oid\": ...}), C({\"$date\": ...})); or
    C(<collection>.yml)/C(.yaml), a YAML list of documents, where YAML timestamps are dates
    and the Extended JSON wrappers work too (C(_id: {$oid: 65a...})). One data file per
    collection."
  - "Index files: C(<collection>.indexes.yml), a YAML list of indexes, each with C(keys)
    (a mapping of field to C(1) or C(-1), in order) and optionally C(unique), C(sparse),
    C(name) (default: MongoDB's, such as C(email_1)) and C(expire_after_seconds)."
  - Every document needs a fixed C(_id). A document that differs is replaced whole by the
    fixture's version; documents that are not in the fixtures are never touched.
  - Against FerretDB, documents with values it cannot store (Decimal128, MinKey, MaxKey,
    JavaScript code, NaN, arrays in arrays) are refused before anything is written, with the
    file, document and field named.
author:
  - vhvcorp platform team (@vhvcorp)
extends_documentation_fragment:
  - vhvcorp.devtools.mongodb
attributes:
  check_mode:
    support: full
    details: Reads the database and reports what would be inserted, updated and indexed.
  diff_mode:
    support: full
    details: Shows each inserted or replaced document before and after, as Extended JSON.
options:
  src:
    description:
      - Directory with the fixture files (see the description for their format).
      - The C(database) role's default is its C(files/fixtures) directory.
    type: path
    required: true
  database:
    description:
      - Database to seed.
    type: str
    default: go_dev
  collections:
    description:
      - Seed only these collections of O(src). Each must have a file in O(src).
      - Default is every collection that has a file in O(src).
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Load the platform's demo data and indexes.
  vhvcorp.devtools.mongodb_seed:
    uri: mongodb://127.0.0.1:27017/
    database: go_dev
    src: "{{ playbook_dir }}/roles/database/files/fixtures"
  register: seed

- name: Seed again.
  vhvcorp.devtools.mongodb_seed:
    uri: mongodb://127.0.0.1:27017/
    database: go_dev
    src: "{{ playbook_dir }}/roles/database/files/fixtures"
  register: reseed

- name: The second run changed nothing.
  ansible.builtin.assert:
    that:
      - not reseed.changed
      - reseed.inserted == 0 and reseed.updated == 0
      - reseed.unchanged == seed.inserted + seed.updated + seed.unchanged

- name: Preview what seeding only the configs would change (writes nothing).
  vhvcorp.devtools.mongodb_seed:
    database: go_dev
    src: "{{ playbook_dir }}/roles/database/files/fixtures"
    collections: [configs]
  check_mode: true
  diff: true

- name: Seed a MongoDB that needs a login and TLS.
  vhvcorp.devtools.mongodb_seed:
    uri: mongodb://mongo.internal:27017/
    username: seeder
    password: "{{ vault_mongodb_seeder_password }}"
    auth_source: admin
    tls: true
    tls_ca_file: /etc/ssl/certs/internal-ca.pem
    database: go_staging
    src: "{{ playbook_dir }}/roles/database/files/fixtures"
"""

RETURN = r"""
database:
  description: The database that was seeded.
  returned: always
  type: str
  sample: go_dev
inserted:
  description: Documents inserted (or that would be, in check mode), all collections.
  returned: always
  type: int
  sample: 3
updated:
  description: Documents replaced because they differed from the fixture, all collections.
  returned: always
  type: int
  sample: 1
unchanged:
  description: Documents equal to their fixture, left alone, all collections.
  returned: always
  type: int
  sample: 18
collections:
  description: What happened per collection, keyed by collection name.
  returned: always
  type: dict
  sample:
    users:
      inserted: 0
      updated: 1
      unchanged: 3
      indexes_created: []
      indexes_unchanged: [email_1, tenant_id_1_status_1, created_at_-1]
  contains:
    inserted:
      description: Documents inserted.
      type: int
      returned: always
      sample: 0
    updated:
      description: Documents replaced.
      type: int
      returned: always
      sample: 1
    unchanged:
      description: Documents left alone.
      type: int
      returned: always
      sample: 3
    indexes_created:
      description: Names of the declared indexes that were created (or would be).
      type: list
      elements: str
      returned: always
      sample: []
    indexes_unchanged:
      description: Names of the declared indexes that already existed.
      type: list
      elements: str
      returned: always
      sample: [email_1]
server:
  description: What the server is (C(mongodb) or C(ferretdb)) and the version it reports.
  returned: always
  type: dict
  sample: {flavor: ferretdb, version: 7.0.42}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vhvcorp.devtools.plugins.module_utils._errors import DevtoolsError
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb import (
    check_libraries,
    mongodb_argument_spec,
    mongodb_session,
    server_capabilities,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb_seed import (
    load_fixtures,
    seed,
    select_collections,
)


def argument_spec():
    """The module's options: the shared connection options and its own."""
    return mongodb_argument_spec(
        src=dict(type="path", required=True),
        database=dict(type="str", default="go_dev"),
        collections=dict(type="list", elements="str"),
    )


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
    )
    check_libraries(module, need_yaml=True)
    try:
        fixtures = select_collections(
            load_fixtures(module.params["src"]), module.params["collections"]
        )
    except DevtoolsError as exc:
        module.fail_json(msg=str(exc))

    action = "seed database %r" % module.params["database"]
    with mongodb_session(module, action) as client:
        capabilities = server_capabilities(client)
        result = seed(
            client[module.params["database"]],
            fixtures,
            check_mode=module.check_mode,
            capabilities=capabilities,
            want_diff=module._diff,
        )

    result.update(
        database=module.params["database"],
        server=dict(flavor=capabilities["flavor"], version=capabilities["version"]),
    )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
