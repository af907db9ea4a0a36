#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: go_generate
short_description: Run the code generators (protoc, swag, a command) of Go clones before a build
version_added: 1.0.0
description:
  - For each entry of O(services), runs its O(services[].steps) in order in its clone, each
    C(protoc) with its plugins, C(swag init) or any command. Services run in parallel.
  - A step is run only when something it depends on changed since its last run here (its
    command, the binaries of its tools, the paths, sizes and modification times of its input
    files, or the files it wrote, deleted or edited). That state is kept in O(state_dir),
    not in the clone, so a rerun with nothing changed starts no generator and touches no file.
  - What a step wrote is listed in the clone's C(.git/info/exclude) (git's own ignore list
    of that clone, never committed), so generated files do not make the clone look dirty to
    C(git status) and the repositories role, which leaves a dirty clone alone.
  - The generators are looked up on PATH with O(tools_dir) first (the go_tools role's bin
    directory, with protoc-gen-go, protoc-gen-go-grpc, protoc-gen-grpc-gateway and swag).
  - A failed step stops that service's later steps, not the other services; the module
    fails naming each failed service with its tool's first lines of output, unless
    O(fail_on_error=false), when the failures are only in RV(results) and RV(failed_services).
author:
  - vhvcorp platform team (@vhvcorp)
attributes:
  check_mode:
    support: full
    details: >-
      Nothing is run; a service whose steps would run is reported as changed (status
      C(generated)), as is one whose tools are not installed yet.
  diff_mode:
    support: none
options:
  services:
    description:
      - The clones to generate code in.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The service, in results and messages, and the name of its state file.
        type: str
        required: true
      chdir:
        description:
          - The clone; each step's C(chdir) is relative to it.
        type: path
        required: true
      steps:
        description:
          - "The steps, as the catalog's C(generate) says them. Each has C(tool): C(protoc)
            (C(include) directories, default C([.]); C(files), globs of the .proto files;
            C(plugins), each C({name, out, opt}) giving C(--<name>_out=<out>) and
            C(--<name>_opt=<opt>); C(args)), C(swag) (C(main), C(-g), default C(main.go);
            C(output), C(-o), default C(docs); C(args)) or C(command) (C(command), the argv;
            C(outputs), the files or directories it writes). Every step takes C(chdir),
            relative to the clone (default C(.)), and C(inputs), more globs (C(**) spans
            directories) whose changes make it run again."
        type: list
        elements: dict
        required: true
  state_dir:
    description:
      - Where each service's state (C(<name>.json)) is kept.
    type: path
    required: true
  tools_dir:
    description:
      - A directory put first on the generators' PATH. Default is where C(go install) puts
        programs (C(go env GOBIN), else the first GOPATH's C(bin)), as the go_tools role does;
        with no go found, PATH as it is.
    type: path
  go:
    description:
      - The go command asked for the default O(tools_dir). Default is the C(go) on PATH, else
        the go_toolchain role's.
    type: str
  environment:
    description:
      - Variables added to the generators' environment.
    type: dict
    default: {}
  fail_on_error:
    description:
      - Fail when a service's step fails. When false, the failures are in RV(results) (status
        C(failed), C(error)) and RV(failed_services), and the other services' results are
        returned as usual.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Generate the gRPC code of auth and the Swagger docs of user before their build.
  vhvcorp.devtools.go_generate:
    state_dir: "{{ workspace }}/deploy/build/.generate"
    services:
      - name: auth-service
        chdir: "{{ workspace }}/go-auth-service"
        steps:
          - tool: protoc
            chdir: server/proto
            include: [., ~/.local/share/vhvcorp-devtools/protos]
            files: ["*.proto"]
            plugins:
              - {name: go, out: ../internal/pb, opt: [paths=source_relative]}
              - {name: go-grpc, out: ../internal/pb, opt: [paths=source_relative]}
      - name: user-service
        chdir: "{{ workspace }}/go-user-service"
        steps:
          - {tool: swag, main: cmd/main.go, output: docs}
    fail_on_error: false
  register: generated

- name: Say which services could not be generated, and why.
  ansible.builtin.debug:
    msg: >-
      {{ generated.results | selectattr('status', 'eq', 'failed')
         | map(attribute='error') | list }}
"""

RETURN = r"""
results:
  description:
    - One per entry of O(services), in order. C(status) is C(generated) (a step ran, or
      would in check mode), C(unchanged), C(failed) or C(missing) (no clone, so nothing run);
      C(error) says what failed and what to do (null otherwise). Each of C(steps) has the
      C(tool), its C(chdir), the C(argv) run, its C(status) (C(ran), C(unchanged),
      C(would_run), C(failed)) and the first lines of its C(output).
  returned: always
  type: list
  elements: dict
  sample:
    - name: auth-service
      status: failed
      changed: false
      error: >-
        auth-service: `protoc -I. --go_out=../internal/pb auth.proto` in
        /home/dev/workspace/go-auth-service/server/proto failed (exit 1): ...
      steps:
        - {tool: protoc, chdir: /home/dev/workspace/go-auth-service/server/proto,
           argv: [protoc, -I., --go_out=../internal/pb, auth.proto], status: failed,
           output: "google/api/annotations.proto: File not found."}
    - {name: user-service, status: unchanged, changed: false, error: null,
       steps: [{tool: swag, chdir: /home/dev/workspace/go-user-service,
                argv: [swag, init, -g, cmd/main.go, -o, docs], status: unchanged, output: ""}]}
failed_services:
  description: The names of the services whose generation failed.
  returned: always
  type: list
  elements: str
  sample: [auth-service]
missing:
  description: The names of the services whose clone is not there (nothing was run).
  returned: always
  type: list
  elements: str
  sample: [tenant-service]
tools_dir:
  description: The directory put first on the generators' PATH (null when none).
  returned: always
  type: str
  sample: /home/dev/go/bin
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_generate import (
    GenerateError,
    generate_all,
    normalize_steps,
    tools_path,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_install import (
    GoInstaller,
    GoInstallError,
    find_go,
)


def argument_spec():
    return dict(
        services=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                name=dict(type="str", required=True),
                chdir=dict(type="path", required=True),
                steps=dict(type="list", elements="dict", required=True),
            ),
        ),
        state_dir=dict(type="path", required=True),
        tools_dir=dict(type="path"),
        go=dict(type="str"),
        environment=dict(type="dict", default={}),
        fail_on_error=dict(type="bool", default=True),
    )


def default_tools_dir(go):
    """Where `go install` puts programs, or None without a working go."""
    try:
        return GoInstaller(find_go(go)).default_gobin()
    except GoInstallError:
        return None


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    try:
        services = [
            dict(s, steps=normalize_steps(s["steps"], f"services[{s['name']}].steps"))
            for s in params["services"]
        ]
    except GenerateError as exc:
        module.fail_json(msg=str(exc))
    services = [s for s in services if s["steps"]]
    tools_dir = params["tools_dir"]
    if tools_dir is None and services:
        tools_dir = default_tools_dir(params["go"])
    env = dict(os.environ)
    env.update({str(k): str(v) for k, v in params["environment"].items()})
    env["PATH"] = tools_path(env.get("PATH", ""), tools_dir)
    results = generate_all(services, params["state_dir"], env, check_mode=module.check_mode)
    failed = [r["name"] for r in results if r["status"] == "failed"]
    outcome = dict(
        changed=any(r["changed"] for r in results),
        results=results,
        failed_services=failed,
        missing=[r["name"] for r in results if r["status"] == "missing"],
        tools_dir=tools_dir,
    )
    if failed and params["fail_on_error"]:
        module.fail_json(
            msg="Code generation failed for "
            + ", ".join(failed)
            + ":\n"
            + "\n".join(r["error"] for r in results if r["status"] == "failed"),
            **outcome,
        )
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
