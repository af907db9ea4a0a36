#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: api_check
short_description: The platform API's smoke test (health, version, register, login, users/me)
version_added: 1.0.0
description:
  - Sends, in order, C(GET /health), C(GET /api/v1), C(POST /api/v1/auth/register) (a new
    user, with a random e-mail address and a password generated for this run, never returned),
    C(POST /api/v1/auth/login) as that user, and C(GET /api/v1/users/me) with the login's
    token (C(token) or C(access_token), at the top of the reply or under C(data)) as
    the C(Authorization) header's bearer token.
  - Each check runs whatever the others gave (C(users/me) is not sent without a token); a
    check passes on an HTTP 2xx answer (and the login on a token in it).
  - Fails naming the checks that failed, with the table; the result holds every check.
  - Only a loopback O(api_base) (C(127.0.0.1), C(::1), C(localhost) taken as C(127.0.0.1))
    is accepted unless O(allow_remote).
  - Never reports a change on this machine (the user it registers is on the API's side).
author:
  - vhvcorp platform team (@vhvcorp)
attributes:
  check_mode:
    support: full
    details: Nothing is sent (the registration would write); the base URL is checked.
  diff_mode:
    support: none
options:
  api_base:
    description:
      - The API's base URL, e.g. the gateway as the stack publishes it.
    type: str
    required: true
  allow_remote:
    description:
      - Accept an O(api_base) off this machine (any http or https URL).
    type: bool
    default: false
  timeout:
    description:
      - Seconds one request may take.
    type: float
    default: 10
  tenant_id:
    description:
      - The tenant the test user is registered in.
    type: str
    default: test-tenant
"""

EXAMPLES = r"""
- name: Test the gateway's API.
  vhvcorp.devtools.api_check:
    api_base: http://127.0.0.1:8080
  register: api

- name: Print the table.
  ansible.builtin.debug:
    msg: "{{ api.table }}"
"""

RETURN = r"""
checks:
  description: Each check in order.
  returned: always
  type: list
  elements: dict
  sample:
    - check: health
      method: GET
      path: /health
      status: 200
      latency_ms: 1.8
      ok: true
      detail: ""
    - check: users/me
      method: GET
      path: /api/v1/users/me
      status: "-"
      latency_ms: null
      ok: false
      detail: "not sent: the login gave no token"
failed_checks:
  description: The names of the checks that failed.
  returned: always
  type: list
  elements: str
  sample: [register, login, users/me]
table:
  description: One table of the checks (check, status, latency, ok or FAIL and why).
  returned: always
  type: str
  sample: |-
    CHECK                 STATUS  LATENCY MS  RESULT
    health (GET /health)     200         1.8  ok
api_base:
  description: The base URL tested.
  returned: always
  type: str
  sample: http://127.0.0.1:8080
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vhvcorp.devtools.plugins.module_utils.api_check import (
    check_base,
    report_table,
    run_checks,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils.http_load import LoadError


def argument_spec():
    return dict(
        api_base=dict(type="str", required=True),
        allow_remote=dict(type="bool", default=False),
        timeout=dict(type="float", default=10),
        tenant_id=dict(type="str", default="test-tenant"),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    try:
        base = check_base(p["api_base"], p["allow_remote"])
    except LoadError as exc:
        module.fail_json(msg=str(exc))
    if module.check_mode:
        module.exit_json(
            changed=False, api_base=base, checks=[], failed_checks=[],
            table="check mode: nothing sent to %s" % base,
        )  # fmt: skip
    rows = run_checks(base, p["timeout"], p["tenant_id"])
    failed = [r["check"] for r in rows if not r["ok"]]
    result = dict(
        changed=False, api_base=base, checks=rows, failed_checks=failed, table=report_table(rows)
    )
    if failed:
        module.fail_json(
            msg="The API at %s failed %d of %d checks: %s. Is the gateway up and routing to the "
            "auth and user services (make status)?\n%s"
            % (base, len(failed), len(rows), ", ".join(failed), result["table"]),
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
