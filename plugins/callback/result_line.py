# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
name: result_line
type: notification
short_description: Prints a playbook's result as the very last line of its output
description:
  - Some playbooks have one result a person or a script wants, such as the path and size
    of the archive C(db-backup.yml) wrote. The default output ends with the play recap,
    so that result would scroll away above it.
  - A playbook sets the line with C(ansible.builtin.set_stats) under the key
    C(devtools_result_line) (with C(aggregate=false)); this callback prints it after the
    recap. Nothing is printed when no play set it.
  - Enabled by the collection's C(ansible.cfg) (C(callbacks_enabled)).
requirements:
  - enabled in C(callbacks_enabled)
"""

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "vhvcorp.devtools.result_line"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_stats(self, stats):
        # set_stats data set with run_once or for all hosts lands under '_run'.
        line = (stats.custom.get("_run") or {}).get("devtools_result_line")
        if line:
            self._display.display(str(line))
