# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action of vhvcorp.devtools.warn (documented in plugins/modules/warn.py).

ansible.builtin.debug prints a line among other debug lines, which no callback counts or
colours as a warning. Neither ansible.builtin nor community.general has a task that warns
and carries on, so this action puts the messages in the result's `warnings`, the key every
callback shows as "[WARNING]: ..." (and the json callback keeps per host).
"""

from collections.abc import Mapping

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible_collections.vhvcorp.devtools.plugins.modules.warn import argument_spec


def messages(value) -> list[str]:
    """`msg` as a list of strings: a string is one message; empty ones are dropped.

    `msg` is `raw` in the spec because a `list` option would split a plain string at its
    commas, and a warning is prose.
    """
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise AnsibleActionFail(
            "msg must be a string or a list of strings, not %r; quote it or make it a list."
            % (value,)
        )
    for item in items:
        if isinstance(item, (Mapping, list, tuple)) or item is None:
            raise AnsibleActionFail(
                "each item of msg must be a string, and %r is not; join or format it first."
                % (item,)
            )
    return [text for text in (to_text(item).strip() for item in items) if text]


class ActionModule(ActionBase):
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=argument_spec())
        warned = messages(args["msg"])
        result.update(changed=False, msg=warned)
        if warned:
            result["warnings"] = list(warned)
        return result
