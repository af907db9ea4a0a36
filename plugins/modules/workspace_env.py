#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: workspace_env
short_description: Write the workspace .env from its schema, keeping the user's values
version_added: 1.0.0
description:
  - Writes the platform's C(.env) from a schema (by default the platform's own, shipped
    with the module) and the service catalog, and replaces the old
    C(scripts/setup/init-workspace.sh).
  - Every value already in the file is kept, with its quoting and the comments above it, so
    the user's edits survive reruns. Keys of the schema that are missing are added with
    their defaults. Keys the user added that the schema does not know are kept, at the end,
    under a comment of their own.
  - A key the schema renamed (a variable's C(was)) gives its value to the new name, so
    a file of an older schema keeps the user's values, e.g. the older C(<PREFIX>_PORT)
    (HTTP) and C(<PREFIX>_GRPC_PORT) become C(<PREFIX>_HTTP_PORT) and C(<PREFIX>_PORT).
  - Secrets (schema type C(secret) with C(generate)) that are missing or empty are generated
    once from C(secrets.token_bytes) and kept on every later run. C(JWT_SECRET) is 64 random
    bytes, base64-encoded (88 characters); the services use that string as the HMAC key.
    The other generated secrets are 24 random bytes, base64url-encoded without padding
    (32 characters, safe inside the URLs that refer to them).
  - O(overrides) win over everything, including the file's values and secrets.
  - The file is laid out in schema order, one comment header per section, so a rerun with
    nothing new writes nothing and reports RV(ignore:changed=false).
  - It is written atomically (a temporary file in the same directory, fsync, rename) with mode
    C(0600); a file with wider permissions is narrowed to C(0600), reported as a change.
  - Secret values never appear in the result or in the diff; only key names are returned.
author:
  - vhvcorp platform team (@vhvcorp)
attributes:
  check_mode:
    support: full
    details: Reports the keys that would be added, generated and updated, writes nothing.
  diff_mode:
    support: full
    details: Shows the file before and after, with every secret value and URL password masked
      (not the O(host_path) file, which follows it).
options:
  path:
    description:
      - The C(.env) file. Its directory must exist.
    type: path
    required: true
  schema:
    description:
      - The schema's data, for a .env of your own. Default is the platform's schema
        (C(plugins/module_utils/_env_schema.py), shipped with the module, so the managed host
        needs no YAML library).
      - Mutually exclusive with O(schema_path).
    type: dict
  schema_path:
    description:
      - Path to the schema on the managed host, YAML (needs PyYAML there) or C(.json).
    type: path
  services:
    description:
      - The service catalog (C(devtools_services)); each entry needs C(name), C(http_port),
        C(env_prefix) and may have C(grpc_port). The schema's C(per_service) variables are
        written for each entry, so adding a service adds its variables.
    type: list
    elements: dict
    default: []
  overrides:
    description:
      - Values that replace whatever the file holds (a key the schema does not know is added
        to the user's section). Values are checked against their schema type.
      - Hidden from logs, as it may hold secrets (C(JWT_SECRET)).
    type: dict
    default: {}
  owner:
    description:
      - User who owns the file. Default is the user the module runs as. Changing it needs root.
    type: str
  host_path:
    description:
      - A second file to write, for a service run on the host (a debugger). It is the same
        .env with every address of a container in O(host_addresses) rewritten to its published
        one (URLs and C(host:port) values, host names alone, and an C(<X>_PORT) beside an
        C(<X>_HOST)). Written on every run with mode C(0600), as it holds the same secrets.
      - Its directory must exist. Unset, no second file.
    type: path
  host_addresses:
    description:
      - Container host name -> C({address, ports}), C(ports) mapping a container port to its
        published port (the C(workspace_host_addresses) filter makes it from the catalog).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Write the workspace .env (generates its secrets the first time).
  vhvcorp.devtools.workspace_env:
    path: "{{ ansible_facts.env.HOME }}/workspace/go-platform/.env"
    services: "{{ devtools_services }}"
    overrides:
      ENVIRONMENT: development
  register: env

- name: Write it again.
  vhvcorp.devtools.workspace_env:
    path: "{{ ansible_facts.env.HOME }}/workspace/go-platform/.env"
    services: "{{ devtools_services }}"
    overrides:
      ENVIRONMENT: development
  register: env_again

- name: The second run kept every value and the secrets of the first.
  ansible.builtin.assert:
    that:
      - not env_again.changed
      - env_again.generated == []

- name: Rotate the JWT secret (the services then need a restart).
  vhvcorp.devtools.workspace_env:
    path: "{{ ansible_facts.env.HOME }}/workspace/go-platform/.env"
    services: "{{ devtools_services }}"
    overrides:
      JWT_SECRET: "{{ vault_jwt_secret }}"

- name: Preview what a new schema would add, with secrets masked.
  vhvcorp.devtools.workspace_env:
    path: "{{ ansible_facts.env.HOME }}/workspace/go-platform/.env"
    services: "{{ devtools_services }}"
  check_mode: true
  diff: true
"""

RETURN = r"""
env_file:
  description: The .env file, symbolic links resolved.
  returned: always
  type: str
  sample: /home/dev/workspace/go-platform/.env
added:
  description: Keys that were missing and were written with their default (or an override).
  returned: always
  type: list
  elements: str
  sample: [FEATURE_SSO, BILLING_SERVICE_URL]
generated:
  description: Secret keys that were missing or empty and were given a random value.
  returned: always
  type: list
  elements: str
  sample: [JWT_SECRET, RABBITMQ_PASSWORD, SMTP_PASSWORD, GRAFANA_PASSWORD]
updated:
  description: Keys whose value an override changed.
  returned: always
  type: list
  elements: str
  sample: [ENVIRONMENT]
unknown:
  description: Keys of the file (or overrides) that the schema does not know, kept at the end.
  returned: always
  type: list
  elements: str
  sample: [MY_DEBUG_FLAG]
host_env_file:
  description: The host-side file (O(host_path)), symbolic links resolved; null without one.
  returned: always
  type: str
  sample: /home/dev/workspace/go-platform/.vscode/debug/.env
mode_fixed:
  description: Whether the file's permissions were wider than 0600 (or its owner another
    user) and were, or in check mode would be, fixed.
  returned: always
  type: bool
  sample: false
"""

import os
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vhvcorp.devtools.plugins.module_utils._render_editor import host_env
from ansible_collections.vhvcorp.devtools.plugins.module_utils.dotenv import (
    FILE_MODE,
    DotenvError,
    SchemaError,
    file_mode,
    invalid_overrides,
    mask_text,
    module_schema,
    parse,
    render,
    write_atomic,
)

# Values shorter than this are not scrubbed from the output: hiding every "guest" or "1"
# would garble it, and generated secrets are far longer.
MIN_SCRUBBED = 8


def argument_spec():
    return dict(
        path=dict(type="path", required=True),
        schema=dict(type="dict"),
        schema_path=dict(type="path"),
        services=dict(type="list", elements="dict", default=[]),
        overrides=dict(type="dict", default={}, no_log=True),
        owner=dict(type="str"),
        host_path=dict(type="path"),
        host_addresses=dict(type="dict", default={}),
    )


def read_current(module, path):
    if os.path.isdir(path):
        module.fail_json(msg="path %r is a directory; give the path of the .env file." % path)
    if not os.path.isdir(os.path.dirname(path) or "."):
        if module.check_mode:
            return None  # an earlier task would have created it
        module.fail_json(
            msg="the directory of %r does not exist; create it first (the workspace role does)."
            % path
        )
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def wanted_owner(module):
    if not module.params["owner"]:
        return None
    try:
        return pwd.getpwnam(module.params["owner"]).pw_uid
    except KeyError:
        module.fail_json(
            msg="owner %r is not a user on this host; create the user or leave owner unset."
            % module.params["owner"]
        )


def write_host_env(module, path, text, uid):
    """Write the host-side .env derived from ``text`` when it differs; True when it did (or
    would, in check mode)."""
    wanted = host_env(text, module.params["host_addresses"])
    current = read_current(module, path)
    owner_wrong = current is not None and uid is not None and os.stat(path).st_uid != uid
    if current == wanted and file_mode(path) == FILE_MODE and not owner_wrong:
        return False
    if not module.check_mode:
        write_atomic(path, wanted, FILE_MODE, uid=uid)
    return True


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("schema", "schema_path")],
        supports_check_mode=True,
    )
    path = os.path.realpath(module.params["path"])
    try:
        schema = module_schema(module.params)
    except SchemaError as exc:
        module.fail_json(msg="schema: %s" % exc)

    errors = invalid_overrides(schema, module.params["overrides"])
    if errors:
        module.fail_json(msg=" ".join(errors))

    current = read_current(module, path)
    try:
        document = parse(current or "")
    except DotenvError as exc:
        module.fail_json(msg="%s: %s" % (path, exc))

    result = render(document, schema, module.params["overrides"])
    # Belt and braces: Ansible scrubs these from anything the module returns.
    previous = [e.value for key, e in document.entries.items() if schema.is_secret(key)]
    for value in result.secrets + previous:
        if len(value) >= MIN_SCRUBBED:
            module.no_log_values.add(value)

    uid = wanted_owner(module)
    mode = file_mode(path)
    owner_wrong = current is not None and uid is not None and os.stat(path).st_uid != uid
    mode_fixed = current is not None and (mode != FILE_MODE or owner_wrong)
    content_changed = result.text != current
    changed = content_changed or mode_fixed

    if changed and not module.check_mode:
        if content_changed:
            write_atomic(path, result.text, FILE_MODE, uid=uid)
        else:
            os.chmod(path, FILE_MODE)
            if owner_wrong:
                os.chown(path, uid, -1)

    host_path = None
    if module.params["host_path"]:
        host_path = os.path.realpath(module.params["host_path"])
        changed = write_host_env(module, host_path, result.text, uid) or changed

    output = dict(
        changed=changed,
        env_file=path,
        added=result.added,
        generated=result.generated,
        updated=result.updated,
        unknown=result.unknown,
        mode_fixed=mode_fixed,
        host_env_file=host_path,
    )
    if module._diff:
        output["diff"] = dict(
            before_header=path,
            after_header=path,
            before=mask_text(current, schema) if current is not None else "",
            after=mask_text(result.text, schema),
        )
        if mode_fixed:
            output["diff"]["before_header"] += " (mode %04o)" % mode
    module.exit_json(**output)


if __name__ == "__main__":
    main()
