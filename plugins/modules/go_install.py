#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Why a module of our own: no collection installs Go programs with a version check
# (community.general has none; ansible.builtin.command would rebuild on every run). See
# plugins/module_utils/go_install.py.

from __future__ import annotations

DOCUMENTATION = r"""
module: go_install
short_description: Install Go programs at pinned versions with go install, idempotently
version_added: 1.0.0
description:
  - Installs each tool of O(tools) with C(go install <package>@<version>) into O(gobin).
  - A tool is skipped when C(go version -m <gobin>/<name>) shows it was built from the same
    package at the same version with the same build tags, so a rerun runs no build and
    reports RV(ignore:changed=false); it takes a fraction of a second per tool.
  - A different version, package or set of tags is replaced (status C(upgraded), downgrades
    included); a tool not there is built (status C(installed)).
  - Every tool is tried even when one fails; the module then fails naming each failed tool
    with the tail of go's error output and what to check.
  - Tools are built one after the other; each build uses every core already.
  - Changing only a tool's O(tools[].env) does not rebuild it (the binary does not record
    every variable); remove the binary to rebuild it.
author:
  - vhvcorp platform team (@vhvcorp)
attributes:
  check_mode:
    support: full
    details: Reads the installed binaries with C(go version -m) and reports what would be
      installed or upgraded; runs no C(go install). With no go binary yet (a check run
      before the go_toolchain role has installed one), reports every tool as to be
      installed, with a warning.
  diff_mode:
    support: full
    details: Shows each tool's package and version before and after.
options:
  tools:
    description:
      - The programs to install.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The binary's file name in O(gobin).
          - Default is the name C(go install) gives it, the last element of O(tools[].package)
            (the one before a major-version suffix such as C(/v4)).
        type: str
      package:
        description:
          - The main package's import path, without C(@version).
        type: str
        required: true
      version:
        description:
          - A pinned module version such as C(v1.61.0) (or a pseudo-version). C(latest) is
            refused, since a rerun could not tell whether the tool is current.
        type: str
        required: true
      tags:
        description:
          - Build tags, passed as C(-tags). A binary built with other tags is rebuilt.
        type: list
        elements: str
        default: []
      env:
        description:
          - Environment of this tool's build only, such as C(CGO_ENABLED=0).
        type: dict
        default: {}
  gobin:
    description:
      - Directory the binaries go to.
      - Default is what go itself uses, C(GOBIN) or else C($GOPATH/bin) (C(~/go/bin)).
    type: path
  go:
    description:
      - The go binary (a path, or a name looked up on PATH).
      - Default is the C(go) on PATH, else the first found in C(/usr/local/bin),
        C(~/.local/bin), C(/usr/local/go/bin), C(/opt/homebrew/bin), C(/usr/lib/go/bin).
    type: str
  environment:
    description:
      - Environment of every C(go) command, such as C(GOPROXY), C(GOFLAGS), C(GOPRIVATE),
        C(GONOSUMDB) or C(GOTOOLCHAIN). Unset variables keep go's defaults.
    type: dict
    default: {}
seealso:
  - name: go install
    description: How go install builds and names binaries.
    link: https://pkg.go.dev/cmd/go#hdr-Compile_and_install_packages_and_dependencies
"""

EXAMPLES = r"""
- name: Install the platform's generators.
  vhvcorp.devtools.go_install:
    tools:
      - package: go.uber.org/mock/mockgen
        version: v0.6.0
      - package: github.com/golang-migrate/migrate/v4/cmd/migrate
        version: v4.20.1
        tags: [mongodb]
  register: go_tools

- name: Install them again.
  vhvcorp.devtools.go_install:
    tools:
      - package: go.uber.org/mock/mockgen
        version: v0.6.0
      - package: github.com/golang-migrate/migrate/v4/cmd/migrate
        version: v4.20.1
        tags: [mongodb]
  register: go_tools_again

- name: The second run built nothing.
  ansible.builtin.assert:
    that:
      - not go_tools_again.changed
      - go_tools_again.unchanged == ['mockgen', 'migrate']

- name: Preview an upgrade (builds nothing).
  vhvcorp.devtools.go_install:
    tools:
      - package: go.uber.org/mock/mockgen
        version: v0.5.2
  check_mode: true
  diff: true

- name: Build a tool with the Go of the go_toolchain role, through a company proxy.
  vhvcorp.devtools.go_install:
    go: /usr/local/bin/go
    gobin: /opt/devtools/bin
    environment:
      GOPROXY: https://goproxy.internal.example.com,direct
      GOFLAGS: -trimpath
    tools:
      - name: air
        package: github.com/air-verse/air
        version: v1.67.4
        env:
          CGO_ENABLED: "0"
"""

RETURN = r"""
gobin:
  description: The directory the binaries are in.
  returned: always
  type: str
  sample: /home/dev/go/bin
go:
  description: The go binary that was used (null in a check run with no go yet).
  returned: always
  type: str
  sample: /usr/local/bin/go
go_version:
  description: Its version, as C(go env GOVERSION) says (null with no go).
  returned: always
  type: str
  sample: go1.26.8
installed:
  description: Names of the tools that were not there and were built (or would be).
  returned: always
  type: list
  elements: str
  sample: [mockgen]
upgraded:
  description: Names of the tools that were replaced (or would be) because another
    version, package or set of tags was there.
  returned: always
  type: list
  elements: str
  sample: [migrate]
unchanged:
  description: Names of the tools that were already as wanted.
  returned: always
  type: list
  elements: str
  sample: [air]
failed:
  description: One message per tool whose build failed, with go's error output.
  returned: always
  type: list
  elements: str
  sample: []
tools:
  description: What happened to each tool, in the order of O(tools).
  returned: always
  type: list
  elements: dict
  sample:
    - name: migrate
      package: github.com/golang-migrate/migrate/v4/cmd/migrate
      version: v4.20.1
      tags: [mongodb]
      path: /home/dev/go/bin/migrate
      status: upgraded
      reason: version v4.19.1 is installed, v4.20.1 is wanted
      previous_package: github.com/golang-migrate/migrate/v4/cmd/migrate
      previous_version: v4.19.1
  contains:
    name:
      description: The binary's name.
      type: str
      returned: always
      sample: migrate
    package:
      description: The package it is built from.
      type: str
      returned: always
      sample: github.com/golang-migrate/migrate/v4/cmd/migrate
    version:
      description: The wanted version.
      type: str
      returned: always
      sample: v4.20.1
    tags:
      description: The build tags, sorted.
      type: list
      elements: str
      returned: always
      sample: [mongodb]
    path:
      description: The binary's path.
      type: str
      returned: always
      sample: /home/dev/go/bin/migrate
    status:
      description: C(installed), C(upgraded), C(unchanged) or C(failed).
      type: str
      returned: always
      sample: upgraded
    reason:
      description: Why, in words (for C(failed), the error).
      type: str
      returned: always
      sample: version v4.19.1 is installed, v4.20.1 is wanted
    previous_package:
      description: The package the binary found there was built from, if any.
      type: str
      returned: always
      sample: github.com/golang-migrate/migrate/v4/cmd/migrate
    previous_version:
      description: The version of the binary found there, if any.
      type: str
      returned: always
      sample: v4.19.1
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_install import (
    GoInstaller,
    GoInstallError,
    ensure_tools,
    find_go,
    normalize_tools,
    preview_without_go,
)


def argument_spec():
    """The module's options."""
    return dict(
        tools=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                name=dict(type="str"),
                package=dict(type="str", required=True),
                version=dict(type="str", required=True),
                tags=dict(type="list", elements="str", default=[]),
                env=dict(type="dict", default={}),
            ),
        ),
        gobin=dict(type="path"),
        go=dict(type="str"),
        environment=dict(type="dict", default={}),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        tools = normalize_tools(module.params["tools"])
        try:
            go = find_go(module.params["go"])
        except GoInstallError as exc:
            if not module.check_mode:
                raise
            # A check run before Go is installed (go_toolchain in check mode installs
            # nothing): say that every tool would be built, instead of failing.
            module.warn(f"{exc} In check mode, every tool is reported as to be installed.")
            go = None
        if go is None:
            result = preview_without_go(tools, module.params["gobin"], "no go binary yet")
        else:
            installer = GoInstaller(go, module.params["environment"])
            gobin = module.params["gobin"] or installer.default_gobin()
            result = ensure_tools(installer, tools, gobin, check_mode=module.check_mode)
    except GoInstallError as exc:
        module.fail_json(msg=str(exc))
    if not module._diff:
        result.pop("diff")
    if result["failed"]:
        module.fail_json(
            msg=f"{len(result['failed'])} of {len(tools)} Go tools failed to install:\n"
            + "\n".join(result["failed"]),
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
