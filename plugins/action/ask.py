# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action of vhvcorp.devtools.ask (documented in plugins/modules/ask.py).

ansible.builtin.pause prompts too, but without a terminal it prints a warning for every
question; setup.yml runs unattended on fleets and in CI, where the default is the answer
and silence is right. So: ask on a terminal, answer with the default otherwise.
"""

from ansible.errors import AnsibleActionFail, AnsiblePromptInterrupt, AnsiblePromptNoninteractive
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()


class ActionModule(ActionBase):
    BYPASS_HOST_LOOP = True  # one question per play, whatever the number of hosts
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(
            argument_spec={
                "question": {"type": "str", "required": True},
                "default": {"type": "str", "default": ""},
                "secret": {"type": "bool", "default": False},
            },
        )
        default = args["default"]
        shown = "" if args["secret"] or not default else " [%s]" % default
        hidden = " (input hidden; Enter keeps the default)" if args["secret"] else ""
        try:
            answer = display.prompt_until(
                "%s%s%s: " % (args["question"], shown, hidden), private=args["secret"]
            )
        except AnsiblePromptNoninteractive:
            result.update(changed=False, answer=default, interactive=False)
            return result
        except AnsiblePromptInterrupt:
            raise AnsibleActionFail("Stopped at the question %r." % args["question"]) from None
        answer = to_text(answer).strip()
        result.update(changed=False, answer=answer or default, interactive=True)
        if args["secret"]:
            result["_ansible_no_log"] = True
        return result
