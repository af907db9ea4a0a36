#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: compose_drift
short_description: Say whether a Compose project runs exactly as its files say
version_added: 1.0.0
description:
  - Reads, without changing anything, whether C(docker compose up) of a project would have
    anything to do, in a fraction of the time C(up --wait) takes to find out.
  - Compares C(docker compose config --hash '*') (the hash of each service's configuration,
    with the O(env_files) interpolated) with the project's containers. A service drifts when
    it has no container, or one whose C(com.docker.compose.config-hash) label differs, that
    runs another image than its image reference names now (the image was rebuilt or
    removed), that is not running, or whose health check does not say healthy. A container
    of a service no longer in the files drifts too (an orphan).
  - The stack role runs M(community.docker.docker_compose_v2) only when RV(drift) is not
    empty.
author:
  - vhvcorp platform team (@vhvcorp)
attributes:
  check_mode:
    support: full
    details: It only reads; the same answer in check mode.
  diff_mode:
    support: none
options:
  project_name:
    description:
      - The Compose project (C(docker compose -p)).
    type: str
    required: true
  project_src:
    description:
      - The directory of the compose files; relative O(files) are read from there.
    type: path
    required: true
  files:
    description:
      - The compose files, in order (C(-f)).
    type: list
    elements: str
    default: [compose.yml]
  env_files:
    description:
      - The files of variables interpolated into the compose files (C(--env-file)).
    type: list
    elements: path
    default: []
  docker:
    description:
      - The docker CLI to run.
    type: str
    default: docker
"""

EXAMPLES = r"""
- name: Ask whether the stack runs as rendered.
  vhvcorp.devtools.compose_drift:
    project_name: vhvcorp
    project_src: "{{ workspace }}/deploy/compose"
    files: [compose.yml, compose.override.yml]
    env_files: ["{{ workspace }}/.env"]
  register: stack_drift

- name: Bring the stack up only where it drifted.
  community.docker.docker_compose_v2:
    project_src: "{{ workspace }}/deploy/compose"
    project_name: vhvcorp
    files: [compose.yml, compose.override.yml]
    env_files: ["{{ workspace }}/.env"]
    wait: true
  when: stack_drift.drift | length > 0
"""

RETURN = r"""
drift:
  description: What differs, one entry per container (or service without one); empty when
    C(up) would change nothing.
  returned: always
  type: list
  elements: dict
  sample:
    - {service: redis, reason: not running (exited)}
    - {service: auth-service, reason: configuration changed}
services:
  description: The services of the files, with their configuration hash.
  returned: always
  type: dict
  sample: {redis: 99fb6993051eb53c89d98a290759d0ed2a630b3708a4a6ce139d7e0a13828ebf}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vhvcorp.devtools.plugins.module_utils.compose_drift import (
    ComposeDriftError,
    compose_drift,
)


def argument_spec():
    return dict(
        project_name=dict(type="str", required=True),
        project_src=dict(type="path", required=True),
        files=dict(type="list", elements="str", default=["compose.yml"]),
        env_files=dict(type="list", elements="path", default=[]),
        docker=dict(type="str", default="docker"),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    docker = module.get_bin_path(params["docker"])
    if docker is None:
        module.fail_json(
            msg="The docker CLI (%s) is not on PATH; install Docker (the docker role does) "
            "or set docker to its path." % params["docker"]
        )
    try:
        hashes, drift = compose_drift(
            docker,
            params["project_name"],
            params["project_src"],
            params["files"],
            params["env_files"],
        )
    except ComposeDriftError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, drift=drift, services=hashes)


if __name__ == "__main__":
    main()
