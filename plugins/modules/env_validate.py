#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: env_validate
short_description: Check the workspace .env against its schema and refuse known-bad secrets
version_added: 1.0.0
description:
  - Reads the platform's C(.env) and lists every problem at once (replaces the old
    C(validate-env.sh)).
  - Errors - a required key missing or empty; a value that is not of its schema type (port,
    duration, URL or host:port, boolean, whole number, e-mail, comma-separated list); a key
    set more than once.
  - When C(ENVIRONMENT) is not C(development) (nor C(dev) or C(local)) these are errors too,
    and only warnings in development - C(JWT_SECRET) is the example secret of the
    documentation (C(change-this-in-production-very-important) and the like) or shorter
    than 32 bytes; a password (a secret key, a key named C(*PASSWORD*), or the password in a
    URL) is a well-known default (C(guest), C(admin), C(changeme), C(password123)...).
  - Keys the schema does not know are listed in RV(unknown), for information only.
  - "C(${KEY}) references are expanded before type checks, as the services' readers do."
  - The task fails when there is any error, with a message listing them all. Values of
    secrets and passwords in URLs never appear in results or messages.
  - The schema is the platform's own (shipped with the module, the one the C(workspace_env)
    module writes from) unless O(schema) or O(schema_path) is given.
author:
  - vhvcorp platform team (@vhvcorp)
attributes:
  check_mode:
    support: full
    details: The module only reads; it does the same in check mode.
  diff_mode:
    support: none
options:
  path:
    description:
      - The C(.env) file to check.
    type: path
    required: true
  schema:
    description:
      - The schema's data. Default is the platform's schema
        (C(plugins/module_utils/_env_schema.py)).
      - Mutually exclusive with O(schema_path).
    type: dict
  schema_path:
    description:
      - Path to a schema on the managed host, YAML (needs PyYAML there) or C(.json).
    type: path
  services:
    description:
      - The service catalog (C(devtools_services)), whose entries add the per-service keys
        (C(AUTH_SERVICE_PORT), C(AUTH_SERVICE_URL)...). Without it those keys are unknown.
    type: list
    elements: dict
    default: []
  fail_on_warnings:
    description:
      - Fail on warnings too (the default passwords of a development machine).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Check the workspace .env.
  vhvcorp.devtools.env_validate:
    path: "{{ ansible_facts.env.HOME }}/workspace/go-platform/.env"
    services: "{{ devtools_services }}"
  register: env_check

- name: Show what the schema does not know.
  ansible.builtin.debug:
    msg: "Keys of your own: {{ env_check.unknown | join(', ') }}"
  when: env_check.unknown | length > 0

- name: Check a staging .env against a schema file on the host, warnings included.
  vhvcorp.devtools.env_validate:
    path: /srv/platform/.env
    schema_path: /srv/platform/env_schema.json
    services: "{{ devtools_services }}"
    fail_on_warnings: true
"""

RETURN = r"""
env_file:
  description: The file checked, symbolic links resolved.
  returned: always
  type: str
  sample: /home/dev/workspace/go-platform/.env
environment:
  description: The file's C(ENVIRONMENT) (C(development) when unset).
  returned: always
  type: str
  sample: production
development:
  description: Whether C(ENVIRONMENT) counts as development, where known defaults only warn.
  returned: always
  type: bool
  sample: false
valid:
  description: Whether there is no error (and, with O(fail_on_warnings), no warning).
  returned: always
  type: bool
  sample: false
problems:
  description: The errors, in schema order then file order; never a secret's value.
  returned: always
  type: list
  elements: dict
  sample:
    - {key: JWT_SECRET, problem: "is 11 bytes, shorter than 32 (ENVIRONMENT is 'production'); ..."}
    - {key: AUTH_SERVICE_PORT, problem: "'80a' is not a port number from 1 to 65535 (type port)"}
  contains:
    key:
      description: The key concerned.
      type: str
      returned: always
      sample: AUTH_SERVICE_PORT
    problem:
      description: What is wrong and how to fix it.
      type: str
      returned: always
      sample: missing; it is required (HTTP port of auth-service (health and metrics))
tolerated:
  description:
    - Problems tolerated because C(ENVIRONMENT) is development (errors elsewhere), with the
      same keys as RV(problems). Each is also shown as an Ansible warning.
  returned: always
  type: list
  elements: dict
  sample:
    - {key: RABBITMQ_PASSWORD, problem: "is a well-known default password (...)"}
unknown:
  description: Keys the schema does not know (information, not errors).
  returned: always
  type: list
  elements: str
  sample: [MY_DEBUG_FLAG]
checked:
  description: Number of distinct keys in the file.
  returned: always
  type: int
  sample: 74
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vhvcorp.devtools.plugins.module_utils.dotenv import (
    DotenvError,
    SchemaError,
    module_schema,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils.env_validate import (
    summary,
    validate,
)


def argument_spec():
    return dict(
        path=dict(type="path", required=True),
        schema=dict(type="dict"),
        schema_path=dict(type="path"),
        services=dict(type="list", elements="dict", default=[]),
        fail_on_warnings=dict(type="bool", default=False),
    )


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("schema", "schema_path")],
        supports_check_mode=True,
    )
    path = os.path.realpath(module.params["path"])
    if not os.path.isfile(path):
        module.fail_json(
            msg="path %r is not a file; write the workspace .env first "
            "(setup.yml --tags workspace) or give the right path." % module.params["path"]
        )
    try:
        schema = module_schema(module.params)
    except SchemaError as exc:
        module.fail_json(msg="schema: %s" % exc)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        module.fail_json(msg="cannot read %s: %s; fix its permissions or encoding." % (path, exc))
    try:
        report = validate(text, schema)
    except DotenvError as exc:
        module.fail_json(msg="%s: %s" % (path, exc))

    errors = list(report.errors)
    if module.params["fail_on_warnings"]:
        errors += report.warnings
    result = dict(
        changed=False,
        env_file=path,
        environment=report.environment,
        development=report.development,
        valid=not errors,
        problems=report.errors,
        tolerated=report.warnings,
        unknown=report.unknown,
        checked=report.checked,
    )
    for warning in report.warnings:
        module.warn("%s: %s %s" % (path, warning["key"], warning["problem"]))
    if errors:
        report.errors = errors
        module.fail_json(msg=summary(report, path), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
