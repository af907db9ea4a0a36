# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: catalog_default
author: vhvcorp platform team
short_description: The collection's own catalog, for a role run without the playbooks
description:
  - Returns variables of the service catalog and settings as this collection ships them
    (C(group_vars/all/services.yml), C(stack.yml) and C(devtools.yml) of the collection), for
    the roles' defaults when the play does not define them (a role used alone, or under
    molecule).
  - A value that is a template (C(devtools_workspace_dir) reads the host's facts) is resolved
    where it is used, with the variables of the host the role runs for.
  - The playbooks read the same files as group_vars, so a role has one catalog whichever
    way it runs, and no copy of it.
options:
  _terms:
    description: Names of catalog variables, e.g. C(devtools_services).
    required: true
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: The services of the catalog, whether or not the play defines them.
  ansible.builtin.debug:
    msg: >-
      {{ devtools_services if devtools_services is defined
         else lookup('vhvcorp.devtools.catalog_default', 'devtools_services') }}
"""

RETURN = r"""
_raw:
  description: The value of each variable named, as the collection's catalog files set it.
  type: list
"""

from pathlib import Path

import yaml
from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.template import trust_as_template

# The catalog is the collection's group_vars/all (plugins/lookup/ -> the collection root):
# the files users edit, read here for the roles that run without them.
CATALOG_DIR = Path(__file__).resolve().parents[2] / "group_vars" / "all"
CATALOG_FILES = ("services.yml", "stack.yml", "devtools.yml")


def catalog_variables() -> dict:
    variables = {}
    for name in CATALOG_FILES:
        variables.update(yaml.safe_load((CATALOG_DIR / name).read_text()) or {})
    return variables


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        catalog = catalog_variables()
        unknown = [term for term in terms if term not in catalog]
        if unknown:
            raise AnsibleLookupError(
                "%s is not a variable of the collection's catalog (%s); use one of %s."
                % (", ".join(unknown), CATALOG_DIR, ", ".join(sorted(catalog)))
            )
        # The collection's own files, as trusted as the roles' defaults: a template among
        # them is resolved here, with the variables of the host the role runs for.
        return [
            self._templar.template(trust_as_template(catalog[term]))
            if isinstance(catalog[term], str)
            else catalog[term]
            for term in terms
        ]
