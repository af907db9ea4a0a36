#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: go_test
short_description: Run each service's Go tests and report per service (passed, failed, no clone)
version_added: 1.0.0
description:
  - Runs C(go test) (O(packages), by default C(./...)) in each entry of O(tests), one after
    another, every one of them whatever the others gave, and reports each (passed, failed,
    or no clone (no C(go.mod) in O(tests[].chdir)), the seconds it took, and how many
    packages passed, failed or have no tests).
  - With O(tests[].workfile), the tests run with a go.work of their own, as
    M(vhvcorp.devtools.go_build) writes one for a build (C(use) of the module and
    C(replace) of each library of O(tests[].replace) its C(go.mod) requires), so a library
    resolves to the workspace's clone as when the service is built.
  - Never reports a change. Fails, after running every entry, when one failed
    (O(fail_on_error)).
author:
  - vhvcorp platform team (@vhvcorp)
attributes:
  check_mode:
    support: full
    details: Nothing runs; each result's state is C(not run).
  diff_mode:
    support: none
options:
  tests:
    description:
      - The Go modules to test.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - What the module is called in results and messages (the service).
        type: str
        required: true
      chdir:
        description:
          - The Go module (a directory with a C(go.mod)).
        type: path
        required: true
      workfile:
        description:
          - Where to write its own go.work (outside the clone), used through C(GOWORK).
        type: path
      replace:
        description:
          - Library modules resolved to local directories, module path to directory,
            through the go.work of O(tests[].workfile).
        type: dict
        default: {}
  go:
    description:
      - The go command. Default is the C(go) on PATH, else the go_toolchain role's.
    type: str
  packages:
    description:
      - The package patterns to test.
    type: list
    elements: str
    default: [./...]
  tags:
    description:
      - Build tags (C(-tags)), e.g. C(integration) for tests that need the running stack.
    type: list
    elements: str
    default: []
  flags:
    description:
      - More flags of C(go test), before the packages (C(-count=1), C(-race), C(-run=...)).
    type: list
    elements: str
    default: []
  environment:
    description:
      - Variables added to the environment of C(go test) (the stack's addresses, say).
    type: dict
    default: {}
  timeout:
    description:
      - Seconds each entry's tests may take (C(go test -timeout)); stopped 30 seconds later.
    type: int
    default: 600
  fail_on_error:
    description:
      - Fail the task when an entry's tests failed (after running every entry).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Run every service's unit tests.
  vhvcorp.devtools.go_test:
    tests:
      - {name: user-service, chdir: "{{ workspace }}/go-user-service"}
      - name: auth-service
        chdir: "{{ workspace }}/go-auth-service/server"
        workfile: "{{ workspace }}/deploy/build/auth-service/go.work"
        replace:
          github.com/vhvplatform/go-shared: "{{ workspace }}/go-shared"
    fail_on_error: false
  register: tested

- name: Print the table.
  ansible.builtin.debug:
    msg: "{{ tested.table }}"

- name: The integration tests, against the stack.
  vhvcorp.devtools.go_test:
    tests: "{{ my_tests }}"
    tags: [integration]
    flags: [-count=1]
    environment:
      MONGODB_URI: mongodb://127.0.0.1:27017
"""

RETURN = r"""
results:
  description: One per entry of O(tests), in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The entry's O(tests[].name).
      type: str
      returned: always
      sample: user-service
    chdir:
      description: The Go module tested.
      type: str
      returned: always
      sample: /home/dev/workspace/go-platform/go-user-service
    state:
      description: C(passed), C(failed), C(no clone) (no go.mod there), or C(not run) (check mode).
      type: str
      returned: always
      sample: passed
    seconds:
      description: How long its tests took; null when they did not run.
      type: float
      returned: always
      sample: 12.4
    packages:
      description: How many packages passed, failed, and have no test files.
      type: dict
      returned: always
      sample: {passed: 3, failed: 0, no_tests: 2}
    msg:
      description: What ran, where, and go's last lines.
      type: str
      returned: when its tests failed
      sample: "`go test` exited 1 in /home/dev/workspace/go-user-service (go test ./...): ..."
table:
  description: The results as one fixed-width table (service, state, seconds, packages).
  returned: always
  type: str
  sample: |-
    SERVICE       STATE   SECONDS  PACKAGES
    user-service  passed     12.4  3 ok, 0 failed, 2 without tests
failed_tests:
  description: The names of the entries whose tests failed.
  returned: always
  type: list
  elements: str
  sample: [auth-service]
missing:
  description: The names of the entries with no clone (no go.mod in O(tests[].chdir)).
  returned: always
  type: list
  elements: str
  sample: [tenant-service]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_install import (
    GoInstallError,
    find_go,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_test import (
    package_counts,
    report_table,
    run_tests,
)


def argument_spec():
    return dict(
        tests=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                name=dict(type="str", required=True),
                chdir=dict(type="path", required=True),
                workfile=dict(type="path"),
                replace=dict(type="dict", default={}),
            ),
        ),
        go=dict(type="str"),
        packages=dict(type="list", elements="str", default=["./..."]),
        tags=dict(type="list", elements="str", default=[]),
        flags=dict(type="list", elements="str", default=[]),
        environment=dict(type="dict", default={}),
        timeout=dict(type="int", default=600),
        fail_on_error=dict(type="bool", default=True),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    if module.check_mode:
        results = [
            {
                "name": t["name"],
                "chdir": t["chdir"],
                "state": "not run",
                "seconds": None,
                "packages": package_counts(""),
            }
            for t in params["tests"]
        ]
    else:
        try:
            go = find_go(params["go"])
        except GoInstallError as exc:
            module.fail_json(msg=str(exc))
        results = run_tests(
            go,
            params["tests"],
            packages=params["packages"],
            tags=params["tags"],
            flags=params["flags"],
            environment=params["environment"],
            timeout=params["timeout"],
        )
    failed = [r["name"] for r in results if r["state"] == "failed"]
    outcome = dict(
        changed=False,
        results=results,
        table=report_table(results),
        failed_tests=failed,
        missing=[r["name"] for r in results if r["state"] == "no clone"],
    )
    if failed and params["fail_on_error"]:
        module.fail_json(
            msg="The tests of %s failed (the table and each result's msg say how); fix them, "
            "or run one alone with `go test` in its clone." % ", ".join(failed),
            **outcome,
        )
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
