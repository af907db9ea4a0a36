#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: warn
short_description: Warn the user and carry on
version_added: 1.0.0
description:
  - Shows each message of O(msg) as an Ansible warning, a C([WARNING]) line on the default
    callback, coloured like any other, and lets the play carry on.
  - That is the difference from M(ansible.builtin.debug), whose output no callback tells
    apart from other debug lines, and from M(ansible.builtin.fail), which stops the host.
  - The json callbacks keep the messages in the task result's C(warnings), per host.
  - Runs on the controller only (an action plugin; this file documents it).
author:
  - vhvcorp platform team (@vhvcorp)
attributes:
  check_mode:
    support: full
    details: Warns in check mode too; it changes nothing either way.
  diff_mode:
    support: none
options:
  msg:
    description:
      - A message, or a list of messages (one warning each), without a C(WARNING:) prefix;
        Ansible adds its own.
      - An empty list, or empty strings in it, warn nothing, so a task can pass a list
        that is often empty without a C(when).
      - A plain string is one message, commas and all.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Say which components were left out, one warning each.
  vhvcorp.devtools.warn:
    msg:
      - "jaeger was left out: the minimal profile does not enable it"
      - "grafana was left out: the minimal profile does not enable it"
  register: left_out

- name: The messages are registered too, and nothing changed.
  ansible.builtin.assert:
    that:
      - left_out is not changed
      - left_out.msg | length == 2

- name: Warn about each tool that is missing; an empty list warns nothing, no `when` needed.
  vhvcorp.devtools.warn:
    msg: >-
      {{ kube_tools_report | selectattr('status', 'eq', 'not installed')
         | map(attribute='tool') | map('regex_replace', '$', ' was not installed') | list }}

- name: Warn about a slow machine, in one message.
  vhvcorp.devtools.warn:
    msg: This machine has 2 CPUs (4 recommended), so start only the services you work on.
  when: ansible_facts.processor_vcpus | default(4) < 4
"""

RETURN = r"""
msg:
  description: The messages warned, in order; empty when there was nothing to say.
  returned: always
  type: list
  elements: str
  sample: ["helm was not installed: the homebrew method failed"]
warnings:
  description: The same messages, under the key every callback shows as C([WARNING]).
  returned: when O(msg) had a message
  type: list
  elements: str
  sample: ["helm was not installed: the homebrew method failed"]
"""


def argument_spec():
    return dict(msg=dict(type="raw", required=True))
