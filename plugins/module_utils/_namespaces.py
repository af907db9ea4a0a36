# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Namespace patterns of backup and restore, as mongodump and mongorestore read them:
--nsInclude/--nsExclude (``*`` any characters, ``\\*`` a literal star) and --nsFrom/--nsTo
(``*`` and ``$name$`` carried over from the source to the target pattern)."""

from __future__ import annotations

import re

from ansible_collections.vhvcorp.devtools.plugins.module_utils._errors import DevtoolsError


class NamespaceError(DevtoolsError):
    """A namespace pattern option is wrong; the message quotes it and the option."""


_REGEX_SPECIALS = set("*[](){}\\?$^+!.|")


def _replace_wildcards(text):
    """'pre*.*' -> 'pre$1$.$2$' (unescaped asterisks only), then unescape."""
    out = []
    count = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if ch == "*":
            count += 1
            out.append("$%d$" % count)
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _count_asterisks(text):
    return text.count("*") - text.count("\\*")


def _compile(source, target, option):
    """A (regex, replacement template) pair for a from/to pattern pair."""
    if "$" in source:
        if source.count("$") % 2 or target.count("$") % 2:
            raise NamespaceError(
                "Option `%s` pattern %r has an odd number of $ signs; write variables as $name$."
                % (option, source if source.count("$") % 2 else target)
            )
    elif _count_asterisks(source) != _count_asterisks(target):
        raise NamespaceError(
            "Options `ns_from` %r and `ns_to` %r have different numbers of *; give each * in "
            "ns_from a * in ns_to (prod.* -> dev.*)." % (source, target)
        )
    if "$" not in source:
        source = _replace_wildcards(source)
        target = _replace_wildcards(target)
    variables = {}
    pattern = []
    rest = source
    while rest:
        match = re.match(r"^\$([^$]*)\$(.*)$", rest, re.S)
        if match:
            name = match.group(1)
            if name in variables:
                raise NamespaceError(
                    "Option `%s` pattern %r uses variable $%s$ twice; name each one once."
                    % (option, source, name)
                )
            variables[name] = len(variables) + 1
            pattern.append("(.*?)")
            rest = match.group(2)
            continue
        ch = rest[0]
        if ch == "$":
            raise NamespaceError("Option `%s` pattern %r has a stray $." % (option, source))
        pattern.append("\\" + ch if ch in _REGEX_SPECIALS else ch)
        rest = rest[1:]
    regex = re.compile("^" + "".join(pattern) + "$", re.S)
    template = []
    rest = target
    while rest:
        match = re.match(r"^\$([^$]*)\$(.*)$", rest, re.S)
        if match:
            if match.group(1) not in variables:
                raise NamespaceError(
                    "Option `ns_to` %r uses $%s$, which `ns_from` does not define."
                    % (target, match.group(1))
                )
            template.append(variables[match.group(1)])
            rest = match.group(2)
            continue
        if rest[0] == "$":
            raise NamespaceError("Option `ns_to` pattern %r has a stray $." % target)
        template.append(rest[0])
        rest = rest[1:]
    return regex, template


class NamespaceMatcher:
    """Does a namespace match any of the patterns (``*`` matches anything, ``\\*`` a star)."""

    def __init__(self, patterns, option):
        self.regexes = []
        for pattern in patterns or []:
            if "$" in pattern:
                raise NamespaceError(
                    "Option `%s` pattern %r contains $, which include/exclude patterns do not "
                    "allow; use * as the wildcard." % (option, pattern)
                )
            self.regexes.append(_compile(pattern, pattern, option)[0])

    def __call__(self, namespace):
        return any(r.match(namespace) for r in self.regexes)


class NamespaceRenamer:
    """mongorestore's --nsFrom/--nsTo: the last matching pair wins."""

    def __init__(self, froms, tos):
        froms, tos = list(froms or []), list(tos or [])
        if len(froms) != len(tos):
            raise NamespaceError(
                "Options `ns_from` (%d patterns) and `ns_to` (%d patterns) must have the same "
                "number of patterns; pair each source pattern with its target."
                % (len(froms), len(tos))
            )
        pairs = [(froms[i], tos[i]) for i in range(len(froms))]
        self.rules = [_compile(f, t, "ns_from") for f, t in reversed(pairs)]

    def __call__(self, namespace):
        for regex, template in self.rules:
            match = regex.match(namespace)
            if match:
                return "".join(
                    match.group(part) if isinstance(part, int) else part for part in template
                )
        return namespace


# --- the journal --------------------------------------------------------------------------------
