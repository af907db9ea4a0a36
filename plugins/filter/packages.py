# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which of a list of Debian packages dpkg does not have installed.

The apt module opens apt's whole cache to find that every package is there already (about
four seconds); `dpkg-query -W -f '${Package} ${db:Status-Abbrev}\\n' <names>` answers in a
tenth of one, so the roles ask dpkg first and run apt only for what is missing.
"""

from __future__ import annotations


def dpkg_missing(dpkg_output: str, packages: list) -> list:
    """The names in ``packages`` that the dpkg-query output does not show installed ("ii").

    A name dpkg does not list exactly (a version pin such as ``pkg=1.2``, an architecture
    qualifier, a virtual package) counts as missing, so apt decides about it.
    """
    installed = set()
    for line in (dpkg_output or "").splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[1].startswith("ii"):
            installed.add(fields[0])
    return [name for name in packages if name not in installed]


class FilterModule:
    def filters(self):
        return {"dpkg_missing": dpkg_missing}
