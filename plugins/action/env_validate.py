# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action of vhvcorp.devtools.env_validate (documented in plugins/modules/env_validate.py).

The schema is a file of this collection (roles/workspace/files/env_schema.yml), which is on
the controller, not on the managed host where the module runs. When the task gives neither
`schema` nor `schema_path`, this reads that file here and hands its data to the module, so
the default works from any playbook, for an installed collection as for the checkout.
"""

import os

import yaml
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

SCHEMA = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "roles",
    "workspace",
    "files",
    "env_schema.yml",
)


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        if args.get("schema") is None and args.get("schema_path") is None:
            try:
                with open(SCHEMA, encoding="utf-8") as handle:
                    args["schema"] = yaml.safe_load(handle)
            except (OSError, yaml.YAMLError) as exc:
                raise AnsibleActionFail(
                    "cannot read the collection's .env schema %s (%s); reinstall "
                    "vhvcorp.devtools or pass `schema` or `schema_path`." % (SCHEMA, exc)
                ) from exc
        result.update(
            self._execute_module(
                module_name="vhvcorp.devtools.env_validate", module_args=args, task_vars=task_vars
            )
        )
        return result
