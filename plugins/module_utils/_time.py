# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Time as the MongoDB operations record it and show it in messages: UTC, to the second."""

from __future__ import annotations

import datetime


def utc_now():
    """Now, in UTC, to the second."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def when(value):
    """A datetime (a UTC one, as the lock and journal documents hold) as a message shows it:
    ISO 8601 to the second, without the zone (the messages say UTC); anything else as text."""
    if isinstance(value, datetime.datetime):
        return value.replace(microsecond=0, tzinfo=None).isoformat()
    return str(value)
