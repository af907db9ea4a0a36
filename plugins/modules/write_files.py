#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: write_files
short_description: Write a set of files and directories in one task, only where they differ
version_added: 1.0.0
description:
  - Brings every entry of O(files) to its content and mode, or makes it a directory, in one
    module run. A file is written only when its bytes or mode differ, through a temporary
    file in the same directory and a rename, so a reader never sees half of it. Missing
    parent directories are made with O(directory_mode).
  - What M(ansible.builtin.copy) with C(content) and M(ansible.builtin.file) with
    C(state=directory) do per path, for many paths at once. The roles render twenty files
    and a rerun with nothing to change costs one module run instead of twenty. Render
    templates into C(content) with the C(ansible.builtin.template) lookup.
  - Owner and group are left as they are (the files belong to the user running the play).
author:
  - vhvcorp platform team (@vhvcorp)
attributes:
  check_mode:
    support: full
    details: Reports what would be written or made, with the diff, and writes nothing.
  diff_mode:
    support: full
    details: One before/after per file whose content changes.
options:
  files:
    description:
      - The files and directories, handled in order.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description:
          - Absolute path of the file or directory.
        type: path
        required: true
      state:
        description:
          - C(file) writes O(files[].content); C(directory) makes a directory.
        type: str
        choices: [file, directory]
        default: file
      content:
        description:
          - The file's text (written as UTF-8). Required with C(state=file).
        type: str
      mode:
        description:
          - Octal mode, quoted (C('0644')). Files default to C(0644), directories made by
            this module to O(directory_mode); an existing directory keeps its mode unless
            one is given.
        type: raw
      force:
        description:
          - When false, an existing file is kept as it is, whatever its content (write it
            once, then it is the user's).
        type: bool
        default: true
  directory_mode:
    description:
      - Mode of the directories this module makes, the missing parents included.
    type: raw
    default: "0755"
"""

EXAMPLES = r"""
- name: Render the configuration files in one task.
  vhvcorp.devtools.write_files:
    files:
      - path: "{{ workspace }}/deploy/config/redis/redis.conf"
        content: "{{ lookup('ansible.builtin.template', 'redis.conf.j2') }}"
      - path: "{{ workspace }}/deploy/compose/compose.sh"
        content: "{{ lookup('ansible.builtin.template', 'compose.sh.j2') }}"
        mode: "0755"
      - path: "{{ workspace }}/deploy/compose/compose.override.yml"
        content: "services: {}\n"
        force: false
      - path: "{{ workspace }}/backups/daily"
        state: directory
        mode: "0750"
  register: rendered

- name: Say which files changed.
  ansible.builtin.debug:
    msg: "{{ rendered.changed_paths }}"
"""

RETURN = r"""
files:
  description:
    - Per entry of O(files), in order, what became of it. C(action) is C(created),
      C(updated) (content), C(mode) (only the mode), C(unchanged), or C(kept) (an existing
      file with O(files[].force=false)).
  returned: always
  type: list
  elements: dict
  sample:
    - {path: /home/dev/workspace/deploy/config/redis/redis.conf, state: file, changed: true,
       action: updated}
changed_paths:
  description: The paths that were (or in check mode would be) written, made or re-moded.
  returned: always
  type: list
  elements: str
  sample: [/home/dev/workspace/deploy/config/redis/redis.conf]
created_directories:
  description: The directories made, missing parents included.
  returned: always
  type: list
  elements: str
  sample: [/home/dev/workspace/deploy/config/redis]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vhvcorp.devtools.plugins.module_utils.write_files import (
    WriteFilesError,
    apply,
    parse_mode,
)


def argument_spec():
    return dict(
        files=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                path=dict(type="path", required=True),
                state=dict(type="str", choices=["file", "directory"], default="file"),
                content=dict(type="str"),
                mode=dict(type="raw"),
                force=dict(type="bool", default=True),
            ),
        ),
        directory_mode=dict(type="raw", default="0755"),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        directory_mode = parse_mode(module.params["directory_mode"], "directory_mode")
        results, diffs, created = apply(
            module.params["files"], directory_mode=directory_mode, check_mode=module.check_mode
        )
    except WriteFilesError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(
            msg="%s: %s; check the path's permissions and free space." % (exc.filename, exc)
        )
    changed_paths = [r["path"] for r in results if r["changed"]]
    result = dict(
        changed=bool(changed_paths or created),
        files=results,
        changed_paths=changed_paths,
        created_directories=created,
    )
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
