# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The errors of the collection's operations, under one base class.

Every error raised here on purpose carries one actionable, redacted sentence: the modules'
connection runner (mongodb.mongodb_session) fails with it as it is, and translates only
what is not ours (pymongo's, the OS's).
"""

from __future__ import annotations

import re

# Collection names this code writes must be plain: FerretDB refuses dots, MongoDB reserves
# system.* and '$'.
COLLECTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,119}$")


class DevtoolsError(Exception):
    """An error whose message is already one actionable sentence, with no secret in it."""


class FixtureError(DevtoolsError):
    """A fixture or index declaration is wrong; the message names where and how to fix it."""
