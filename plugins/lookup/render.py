# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: render
author: vhvcorp platform team
short_description: A role's template rendered to text, without copying the task's variables
description:
  - Renders each template named, found as M(ansible.builtin.template) finds them (the role's
    C(templates/) directory first), with the task's variables, and returns the text.
  - The same result as the C(ansible.builtin.template) lookup for templates that do not
    change the variables they read. That lookup deep-copies every variable of the task for
    each template, the service catalog included (about 0.1 s a template here, 3 s of each
    rerun of C(setup.yml)). This one lays O(template_vars) and C(ansible_managed) over the
    task's variables instead.
options:
  _terms:
    description: Names of template files.
    required: true
    type: list
    elements: str
  template_vars:
    description: Variables added for these templates only, over the task's.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: The Dockerfile of a service, as render.yml writes it.
  ansible.builtin.debug:
    msg: >-
      {{ lookup('vhvcorp.devtools.render', 'Dockerfile.service.j2',
                template_vars={'stack_container': c}) }}
"""

RETURN = r"""
_raw:
  description: The rendered text of each template, in order.
  type: list
  elements: str
"""

import os
import pwd
import time
from collections import ChainMap
from pathlib import Path

from ansible import constants
from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.template import trust_as_template


def ansible_managed(term: str, path: str) -> str:
    """The configured `ansible_managed` text (our templates print it as a header) as the
    builtin lookup gives it: strftime of the template's mtime, and {file}, {host} and {uid}
    the template's name, this machine and the template's owner."""
    stat = os.stat(path)
    try:
        owner = pwd.getpwuid(stat.st_uid).pw_name
    except KeyError:
        owner = str(stat.st_uid)
    setting = constants.config.get_config_value("DEFAULT_MANAGED_STR")
    return time.strftime(setting, time.localtime(stat.st_mtime)).format(
        file=term, host=os.uname()[1], uid=owner
    )


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        given = self.get_option("template_vars")
        rendered = []
        for term in terms:
            path = self.find_file_in_search_path(variables, "templates", term)
            if not path:
                raise AnsibleLookupError(
                    f"The template {term} is not in the role's templates/ directory or "
                    "the play's search path."
                )
            overlay = dict(given)
            if "ansible_managed" not in variables and "ansible_managed" not in overlay:
                overlay["ansible_managed"] = ansible_managed(term, path)
            # Jinja includes and imports resolve next to the template first, then in the
            # search path's templates/ directories, as with the builtin lookup.
            searchpath = [str(Path(path).parent)]
            for directory in variables.get("ansible_search_path", []):
                searchpath += [str(Path(directory) / "templates"), directory]
            templar = self._templar.copy_with_new_env(
                available_variables=ChainMap(overlay, variables), searchpath=searchpath
            )
            source = trust_as_template(self._loader.get_text_file_contents(path))
            rendered.append(templar.template(source, escape_backslashes=False))
        return rendered
