# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: role_platforms
author: vhvcorp platform team
short_description: The platforms the running role supports, in words, from its meta/main.yml
description:
  - Reads C(galaxy_info.platforms) of the role that calls it (C(role_path)/meta/main.yml) and
    returns their names as one phrase, e.g. C(Debian, Ubuntu, Fedora, RHEL-like systems and
    macOS), for the message of a role that stops on a platform it has no files for.
  - A role lists its platforms once, in its meta/main.yml; its per-OS files (picked with
    C(ansible.builtin.first_found) over the distribution, the OS family and the system) decide
    what runs, and this lookup says what is supported when none fits.
  - Galaxy's names are put in words where they are terse (C(EL), C(GenericLinux), C(MacOSX)).
options: {}
"""

EXAMPLES = r"""
- name: Fail with what to do on a platform the role has no files for.
  ansible.builtin.fail:
    msg: >-
      This role supports {{ lookup('vhvcorp.devtools.role_platforms') }}: install the tools
      yourself, then rerun with `--skip-tags deps`.
  when: not _role_os_vars
"""

RETURN = r"""
_raw:
  description: One phrase naming the role's platforms, joined with commas and a final "and".
  type: list
  elements: str
"""

from pathlib import Path

import yaml
from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

# Galaxy's platform names that read poorly in a sentence; the others are kept as they are.
IN_WORDS = {"EL": "RHEL-like systems", "GenericLinux": "Linux", "MacOSX": "macOS"}


def in_words(platforms: list) -> str:
    """galaxy_info.platforms as a phrase: 'Debian, Ubuntu and macOS'."""
    names = list(dict.fromkeys(IN_WORDS.get(p["name"], p["name"]) for p in platforms))
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        role_path = (variables or {}).get("role_path")
        if not role_path:
            raise AnsibleLookupError(
                "role_platforms reads the platforms of the role that calls it: use it in a"
                " role's tasks or vars, where role_path is set."
            )
        meta = Path(role_path) / "meta" / "main.yml"
        platforms = (yaml.safe_load(meta.read_text()) or {}).get("galaxy_info", {}).get("platforms")
        if not platforms:
            raise AnsibleLookupError(
                f"{meta} lists no galaxy_info.platforms: name the platforms the role supports"
                " there."
            )
        return [in_words(platforms)]
