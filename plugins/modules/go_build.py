#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: go_build
short_description: Build Go programs from local sources, replacing a binary only when it changes
version_added: 1.0.0
description:
  - Runs C(go build -o) for each entry of O(builds), in parallel (one per CPU). Go leaves a
    binary that is up to date as it is, without linking it again, and otherwise links a
    new one and moves it into place. A change is reported only when the binary's bytes
    differ from before; with the default O(flags) (C(-trimpath), C(-buildvcs=false)) the
    same sources give the same bytes, so a rerun with unchanged sources reports none.
  - A binary keeps a fingerprint of its inputs in an extended attribute (the paths, sizes
    and modification times of the files under O(builds[].chdir) and of the local
    directories its C(go.mod) replaces modules with, the libraries of its go.work, the
    go.work itself, the go command, O(flags) and the Go environment). When the fingerprint
    and the binary's bytes are as before, go is not started at all. Under a C(go.work) of
    the user's (found above O(builds[].chdir)) with no O(builds[].workfile), or where
    extended attributes are not supported, go runs every time.
  - With O(builds[].workfile), the build gets a go.work of its own, written there (outside
    the clone) and used through C(GOWORK). It holds the go version of its C(go.mod), C(use) of
    O(builds[].chdir), and C(replace <module> => <directory>) for each module of
    O(builds[].replace) that its C(go.mod) requires and whose directory holds a C(go.mod).
    A go.work replace wins over the C(go.mod)'s, so a library resolves to the workspace's
    clone whatever path the C(go.mod)'s own replace was written for; a service that does not
    require it gets no replace.
  - Returns each binary's sha1, which the stack role puts in the recipe label of the service
    image it builds.
  - Use M(vhvcorp.devtools.go_install) for tools from the module proxy (C(go install
    pkg@version)); this module builds clones on disk.
author:
  - vhvcorp platform team (@vhvcorp)
attributes:
  check_mode:
    support: full
    details: >-
      Nothing is built; each result carries the sha1 of the binary already there, and is
      reported as a change only where there is none yet.
  diff_mode:
    support: none
options:
  builds:
    description:
      - The programs to build.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - What the program is called in results and messages.
        type: str
        required: true
      chdir:
        description:
          - The source tree, a Go module (it has a C(go.mod)).
        type: path
        required: true
      package:
        description:
          - The main package to build, relative to O(builds[].chdir).
        type: str
        default: .
      output:
        description:
          - The binary to write; its directory is made when missing.
          - Required unless O(workfiles_only=true).
        type: path
      workfile:
        description:
          - Where to write this build's own go.work (a file named C(go.work), outside the
            clone); the build then runs with C(GOWORK) set to it. Rewritten only when its
            content changes; nothing is written in check mode.
          - Not given, go finds a go.work as usual (none: module mode).
        type: path
      replace:
        description:
          - Library modules resolved to local directories, module path to directory (a
            clone with a C(go.mod)), through the go.work of O(builds[].workfile); only
            those the build's C(go.mod) requires are replaced.
        type: dict
        default: {}
  go:
    description:
      - The go command. Default is the C(go) on PATH, else the go_toolchain role's.
    type: str
  flags:
    description:
      - Flags of C(go build), before C(-o).
    type: list
    elements: str
    default: [-trimpath, -buildvcs=false, -ldflags=-s -w]
  environment:
    description:
      - Variables added to the environment of C(go build).
    type: dict
    default: {CGO_ENABLED: "0"}
  fail_on_missing:
    description:
      - Fail when an entry's O(builds[].chdir) is not a Go module. When false, those entries
        are listed in RV(missing) and not built, so the caller can say what to do.
    type: bool
    default: true
  fail_on_error:
    description:
      - Fail the task at the first build that fails, with the compiler's last lines.
      - When false, each build that fails is reported in RV(results) (C(msg), and the
        compiler's first lines in C(error)) and named in RV(failed_builds), its binary
        left as it was, and the others are built; the task fails only when go cannot run
        at all. The stack role uses it to bring up every service that builds.
    type: bool
    default: true
  workfiles_only:
    description:
      - Write (or remove) only each build's go.work, as a build would, and build nothing.
        For what builds the sources elsewhere with the same go.work, such as an editor's
        debugger (the workspace role's VS Code launch configurations) or the stack's dev
        containers. RV(results) then name each build's RV(results[].workfile).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Build the services from their clones.
  vhvcorp.devtools.go_build:
    builds:
      - name: user-service
        chdir: "{{ workspace }}/go-user-service"
        package: ./cmd
        output: "{{ workspace }}/deploy/build/user-service/user-service"
  register: built

- name: Build a service against the workspace's clone of its library (its go.mod's replace aside).
  vhvcorp.devtools.go_build:
    builds:
      - name: auth-service
        chdir: "{{ workspace }}/go-auth-service/server"
        package: ./cmd
        output: "{{ workspace }}/deploy/build/auth-service/auth-service"
        workfile: "{{ workspace }}/deploy/build/auth-service/go.work"
        replace:
          github.com/vhvplatform/go-shared: "{{ workspace }}/go-shared"

- name: Say which binaries changed.
  ansible.builtin.debug:
    msg: "{{ built.results | selectattr('changed') | map(attribute='name') | list }}"

- name: Write only the go.work of each service, for the editor's debugger.
  vhvcorp.devtools.go_build:
    builds:
      - name: auth-service
        chdir: "{{ workspace }}/go-auth-service/server"
        workfile: "{{ workspace }}/deploy/build/auth-service/go.work"
        replace:
          github.com/vhvplatform/go-shared: "{{ workspace }}/go-shared"
    workfiles_only: true
    fail_on_missing: false
  register: workfiles

- name: Build every program that compiles, and report the others (compiler's first lines).
  vhvcorp.devtools.go_build:
    builds: "{{ my_builds }}"
    fail_on_missing: false
    fail_on_error: false
  register: built

- name: Say which did not compile, and why.
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.error }}"
  loop: "{{ built.results | selectattr('error', 'defined') }}"
  loop_control:
    label: "{{ item.name }}"
"""

RETURN = r"""
results:
  description: One per built entry of O(builds), in order.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: auth-service, output: /home/dev/workspace/deploy/build/auth-service/server,
       sha1: 3f786850e387550fdab836ed7e6dc881de23001b, changed: false}
  contains:
    name:
      description: The entry's O(builds[].name).
      type: str
      returned: always
      sample: auth-service
    output:
      description: The binary's path.
      type: str
      returned: unless O(workfiles_only=true)
      sample: /home/dev/workspace/deploy/build/auth-service/server
    sha1:
      description: The binary's sha1; null when there is none (check mode before the first
        build) or its build failed.
      type: str
      returned: unless O(workfiles_only=true)
      sample: 3f786850e387550fdab836ed7e6dc881de23001b
    changed:
      description: Whether the binary's bytes changed (with O(workfiles_only), its go.work).
      type: bool
      returned: always
      sample: false
    workfile:
      description: The build's go.work, or null where it has none (it replaces no library).
      type: str
      returned: with O(workfiles_only=true)
      sample: /home/dev/workspace/deploy/build/auth-service/go.work
    msg:
      description: What failed and what to do, with the compiler's last lines.
      type: str
      returned: when the build failed
      sample: >-
        `go build ./cmd/server` of auth-service in /home/dev/workspace/auth-service failed
        (exit 1): ...
    error:
      description: The compiler's first lines (the package, then the first errors).
      type: str
      returned: when the build failed
      sample: "# example.com/auth/internal/server\ninternal/server/server.go:12:9: undefined: nope"
failed_builds:
  description: The names of the entries whose build failed (O(fail_on_error=false)).
  returned: always
  type: list
  elements: str
  sample: [user-service]
missing:
  description: The names of the entries whose O(builds[].chdir) has no C(go.mod) (not built).
  returned: always
  type: list
  elements: str
  sample: [tenant-service]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_build import (
    DEFAULT_FLAGS,
    GoBuildError,
    build_all,
    missing_modules,
    write_workfiles,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_install import (
    GoInstallError,
    find_go,
)


def argument_spec():
    return dict(
        builds=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                name=dict(type="str", required=True),
                chdir=dict(type="path", required=True),
                package=dict(type="str", default="."),
                output=dict(type="path"),
                workfile=dict(type="path"),
                replace=dict(type="dict", default={}),
            ),
        ),
        go=dict(type="str"),
        flags=dict(type="list", elements="str", default=list(DEFAULT_FLAGS)),
        environment=dict(type="dict", default={"CGO_ENABLED": "0"}),
        fail_on_missing=dict(type="bool", default=True),
        fail_on_error=dict(type="bool", default=True),
        workfiles_only=dict(type="bool", default=False),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    missing = missing_modules(params["builds"])
    if missing and params["fail_on_missing"]:
        module.fail_json(
            msg="Not Go modules (no go.mod): %s. Clone them first (setup.yml --tags repos) or "
            "leave them out of `builds`."
            % ", ".join("%s in %s" % (b["name"], b["chdir"]) for b in missing),
            missing=[b["name"] for b in missing],
        )
    builds = [b for b in params["builds"] if b not in missing]
    if params["workfiles_only"]:
        results = write_workfiles(builds, check_mode=module.check_mode)
        module.exit_json(
            changed=any(r["changed"] for r in results),
            results=results,
            missing=[b["name"] for b in missing],
            failed_builds=[],
        )
    no_output = [b["name"] for b in builds if not b["output"]]
    if no_output:
        module.fail_json(
            msg="builds[].output is missing for %s: say where each binary goes, or set "
            "workfiles_only to write only the go.work files." % ", ".join(no_output)
        )
    try:
        go = find_go(params["go"]) if builds and not module.check_mode else params["go"]
        results = build_all(
            go,
            builds,
            flags=params["flags"],
            environment=params["environment"],
            check_mode=module.check_mode,
            fail_on_error=params["fail_on_error"],
        )
    except (GoBuildError, GoInstallError) as exc:
        module.fail_json(msg=str(exc), missing=[b["name"] for b in missing])
    module.exit_json(
        changed=any(r["changed"] for r in results),
        results=results,
        missing=[b["name"] for b in missing],
        failed_builds=[r["name"] for r in results if "error" in r],
    )


if __name__ == "__main__":
    main()
