#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ask
short_description: Ask a question on a terminal; answer with the default without one
version_added: 1.0.0
description:
  - Prints O(question) and reads one line from the terminal that runs C(ansible-playbook).
    An empty line keeps O(default).
  - Without a terminal (CI, a pipe, C(ansible-playbook ... < /dev/null), a background job)
    it does not wait and does not warn; the answer is O(default). That is the difference
    from M(ansible.builtin.pause), which prints a warning for each prompt it skips.
  - Asked once per play, whatever the number of hosts; the answer is registered for all.
  - Runs on the controller only (an action plugin; this file documents it).
author:
  - vhvcorp platform team (@vhvcorp)
attributes:
  check_mode:
    support: full
    details: Asks in check mode too; it changes nothing either way.
  diff_mode:
    support: none
options:
  question:
    description: The question, without the default or a trailing colon.
    type: str
    required: true
  default:
    description: The answer when the user presses Enter, or when there is no terminal.
    type: str
    default: ""
  secret:
    description: Do not echo the input, do not show the default, and hide the result from logs.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Ask where the workspace goes, unless -e workspace=... said it.
  vhvcorp.devtools.ask:
    question: Workspace directory
    default: "{{ devtools_workspace_dir }}"
  register: workspace_answer
  when: workspace is not defined

- name: Ask for a JWT secret (Enter generates one).
  vhvcorp.devtools.ask:
    question: JWT secret
    secret: true
  register: jwt_answer
"""

RETURN = r"""
answer:
  description: What the user typed, stripped, or O(default) for an empty line or no terminal.
  returned: always
  type: str
  sample: /home/dev/workspace/go-platform
interactive:
  description: Whether there was a terminal to ask on.
  returned: always
  type: bool
  sample: false
"""
