# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The workspace .env: reading, writing, and the schema that says what belongs in it.

Used by workspace_env (write the .env) and meant for env_validate and jwt_token (read and
check it), so the public API is small:

- ``parse(text)`` -> ``Document``: the file's entries in order, with the user's comments,
  ``export`` prefixes and quoting kept (``Entry.raw``), values decoded (``Entry.value``);
- ``format_line(key, value, literal=True)``: one ``KEY=value`` line, quoted as needed;
- ``build_schema(data, services)`` -> ``Schema``: the schema data (the platform's is
  ``_env_schema.SCHEMA``) with its per-service variables expanded from the service catalog;
  ``load_schema_file(path)`` reads that data from YAML (needs PyYAML) or JSON;
- ``check_value(var_type, value)``: ``None`` when a value fits its type, else why not;
- ``render(document, schema, overrides)`` -> ``Rendered``: the new file text and what was
  added, generated and updated; ``mask_text`` hides secret values for diffs;
- ``write_atomic(path, text)``: temp file in the same directory, fsync, rename, mode 0600.

Why not python-dotenv: it would have to be installed on every managed host, and it only
reads; we need a writer that keeps the user's values, quoting and comments byte for byte,
which is this module's job. The format is the one godotenv, Docker Compose's env_file and
VS Code's envFile read: ``[export ]KEY=value``, ``#`` comments (in an unquoted value only
after whitespace), single quotes literal, double quotes with backslash escapes, ``${KEY}``
references left for the reader to expand.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import stat
import string
import tempfile
from dataclasses import dataclass, field

from ansible_collections.vhvcorp.devtools.plugins.module_utils import _env_schema

TYPES = ("string", "int", "port", "duration", "url", "bool", "email", "list", "secret")
ENCODINGS = ("base64", "hex", "urlsafe")
MASK = "********"
FILE_MODE = 0o600

HEADER = (
    "# Workspace environment of the vhvcorp platform, written by vhvcorp.devtools.workspace_env.",
    "# Edit values freely: reruns keep them and only add what is missing. It holds secrets:",
    "# never commit it.",
)
UNKNOWN_HEADER = "# Your own variables (not in the schema), kept as they are"

KEY = r"[A-Za-z_][A-Za-z0-9_.]*"
_ASSIGNMENT = re.compile(r"^\s*(export\s+)?(" + KEY + r")\s*=\s*(.*)$", re.DOTALL)
_KEY_ONLY = re.compile(r"^" + KEY + r"$")
_ENV_PREFIX = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Values written bare; anything else is quoted. `$` is left out: a bare or double-quoted
# `$X` is a reference that readers expand.
_BARE = re.compile(r"^[A-Za-z0-9_./:,@%+=*?&~^!\[\]-]*$")
_BARE_TEMPLATE = re.compile(r"^[A-Za-z0-9_./:,@%+=*?&~^!\[\]${}-]*$")
_DOUBLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}
# Key names that hold secrets when the schema does not say (keys the user added).
_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|PRIVATE|API_?KEY)", re.I)
# The password of a URL's userinfo, unless it is a ${KEY} reference.
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)(?!\$\{)[^@\s]+@")
_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9_.-]+:\d{1,5}$")
_BOOLS = ("true", "false", "1", "0", "yes", "no", "on", "off")


class DotenvError(ValueError):
    """The .env cannot be read; the message names the line and says how to fix it."""


class SchemaError(ValueError):
    """The schema or the service catalog is wrong; the message names the entry."""


# --- reading --------------------------------------------------------------------------------


@dataclass
class Entry:
    """One ``KEY=value`` of the file."""

    key: str
    value: str
    raw: str  # the line(s) as written, without the final newline
    comments: list = field(default_factory=list)  # the comment lines above it
    export: bool = False


@dataclass
class Document:
    """A parsed .env: ``items`` is every line in order, as ("entry", Entry) or ("text", str)."""

    items: list = field(default_factory=list)

    @property
    def entries(self) -> dict:
        """Key -> Entry; a key written twice counts once, with its last value (as shells do)."""
        return {item.key: item for kind, item in self.items if kind == "entry"}

    def values(self) -> dict:
        return {key: entry.value for key, entry in self.entries.items()}


def _parse_quoted(first: str, lines: list, index: int, number: int, quote: str):
    """Read a quoted value that may run over several lines; returns (value, rest, last index)."""
    text = first[1:]
    raw_lines = 0
    out = []
    position = 0
    while True:
        if position >= len(text):
            if index + raw_lines + 1 >= len(lines):
                raise DotenvError(
                    "line %d: the %s-quoted value is never closed; add the closing %s."
                    % (number, "single" if quote == "'" else "double", quote)
                )
            raw_lines += 1
            out.append("\n")
            text = lines[index + raw_lines]
            position = 0
            continue
        char = text[position]
        if char == quote:
            return "".join(out), text[position + 1 :], index + raw_lines
        if quote == '"' and char == "\\" and position + 1 < len(text):
            following = text[position + 1]
            out.append(_DOUBLE_ESCAPES.get(following, "\\" + following))
            position += 2
            continue
        out.append(char)
        position += 1


def parse(text: str) -> Document:
    """Parse .env text. Raises DotenvError naming the line (never quoting it: it may hold a
    secret)."""
    document = Document()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    index = 0
    while index < len(lines):
        line = lines[index]
        number = index + 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            document.items.append(("text", line))
            index += 1
            continue
        match = _ASSIGNMENT.match(line)
        if not match:
            raise DotenvError(
                "line %d is not KEY=value (a key is letters, digits and _, not starting with "
                "a digit); fix the line or make it a comment with #." % number
            )
        export, key, rest = match.groups()
        first = index
        if rest[:1] in ("'", '"'):
            value, after, index = _parse_quoted(rest, lines, index, number, rest[0])
            after = after.strip()
            if after and not after.startswith("#"):
                raise DotenvError(
                    "line %d: text after the closing quote of %s; put it inside the quotes "
                    "or after a #." % (number, key)
                )
        else:
            value = re.split(r"\s#", rest, maxsplit=1)[0].strip()
        raw = "\n".join(lines[first : index + 1])
        document.items.append(("entry", Entry(key, value, raw, [], bool(export))))
        index += 1
    return document


# --- writing --------------------------------------------------------------------------------


def env_string(value) -> str:
    """A YAML or Ansible value as .env text: None is empty, booleans are true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def quote(value: str, literal: bool = True) -> str:
    """The value as written after ``KEY=``.

    ``literal`` values are read back exactly (a generated secret, an override): a ``$`` in
    them is protected with single quotes. Schema defaults are templates
    (``literal=False``): their ``${KEY}`` references stay bare, for the reader to expand.
    """
    value = str(value)
    if (_BARE if literal else _BARE_TEMPLATE).match(value):
        return value
    if "'" not in value and "\n" not in value and (literal or "$" not in value):
        return "'%s'" % value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    if literal:
        escaped = escaped.replace("$", "\\$")
    return '"%s"' % escaped


def format_line(key: str, value: str, literal: bool = True) -> str:
    """One ``KEY=value`` line, without the newline."""
    return "%s=%s" % (key, quote(value, literal))


def write_atomic(path: str, text: str, mode: int = FILE_MODE, uid=None, gid=None) -> None:
    """Replace ``path`` with ``text``: a temp file in the same directory (mode set before a
    byte is written), fsync, rename over the old file, fsync the directory. A crash leaves
    the old file or the new one, never half of one."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        os.fchmod(fd, mode)
        if uid is not None or gid is not None:
            os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            fd = None
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
        temp = None
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        if fd is not None:
            os.close(fd)
        if temp is not None and os.path.exists(temp):
            os.unlink(temp)


def file_mode(path: str):
    """Permission bits of an existing file, or None."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None


# --- schema ---------------------------------------------------------------------------------


@dataclass
class Variable:
    name: str
    default: str
    type: str
    description: str
    required: bool
    section: str
    generate: dict | None = None  # {bytes, encoding} for secrets generated when missing
    was: str | None = None  # the key's name in an older schema, whose value it takes

    @property
    def secret(self) -> bool:
        return self.type == "secret"


@dataclass
class Section:
    name: str
    description: str
    variables: list


@dataclass
class Schema:
    sections: list
    stale: dict = field(default_factory=dict)  # key -> older defaults replaced by the current

    @property
    def variables(self) -> dict:
        """Name -> Variable, in schema order."""
        return {v.name: v for section in self.sections for v in section.variables}

    def is_secret(self, key: str) -> bool:
        """A key whose value is never shown: secret-typed, or named like a secret."""
        variable = self.variables.get(key)
        if variable is not None and variable.secret:
            return True
        return bool(_SECRET_NAME.search(key))


def module_schema(params: dict) -> Schema:
    """The Schema of a module's ``schema`` (data) or ``schema_path`` (default: the platform's,
    module_utils/_env_schema.py) and ``services`` options."""
    if params["schema"]:
        data = params["schema"]
    elif params["schema_path"]:
        data = load_schema_file(params["schema_path"])
    else:
        data = _env_schema.SCHEMA
    return build_schema(data, params["services"])


def load_schema_file(path: str) -> dict:
    """Read schema data from a YAML (needs PyYAML) or JSON file."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise SchemaError("cannot read the schema file %s: %s" % (path, exc.strerror)) from exc
    if path.endswith(".json"):
        import json

        return json.loads(text)
    try:
        import yaml
    except ImportError as exc:
        raise SchemaError(
            "reading the schema file %s needs PyYAML on this host; install python3-yaml, "
            "or pass the schema's data instead of its path." % path
        ) from exc
    return yaml.safe_load(text)


def _service_fields(service, position: int) -> dict:
    if not isinstance(service, dict):
        raise SchemaError("services[%d] is %r, not a mapping." % (position, service))
    for required in ("name", "http_port", "env_prefix"):
        if service.get(required) in (None, ""):
            raise SchemaError(
                "service %r (services[%d]) has no %s; every catalog entry needs name, "
                "http_port and env_prefix." % (service.get("name"), position, required)
            )
    if not _ENV_PREFIX.match(str(service["env_prefix"])):
        raise SchemaError(
            "service %r has env_prefix %r; use capitals, digits and _ (AUTH_SERVICE)."
            % (service["name"], service["env_prefix"])
        )
    return {k: ("" if v is None else v) for k, v in service.items()}


def _condition(when, fields: dict) -> bool:
    if when is None:
        return True
    negate = str(when).startswith("not ")
    name = str(when)[4:].strip() if negate else str(when).strip()
    if name not in fields and name not in ("grpc_port", "http_port"):
        raise SchemaError("`when: %s` names no field of a catalog entry." % when)
    return bool(fields.get(name)) != negate


def _variable(data, section: str, fields: dict | None = None) -> Variable:
    if not isinstance(data, dict) or "name" not in data:
        raise SchemaError("section %r has an entry without a name: %r." % (section, data))
    values = dict(data)
    if fields is not None:
        for key in ("name", "default", "description", "was"):
            try:
                values[key] = string.Formatter().vformat(str(values.get(key, "")), (), fields)
            except (KeyError, IndexError) as exc:
                raise SchemaError(
                    "section %r: %r refers to %s, which catalog entries do not have."
                    % (section, data.get(key), exc)
                ) from exc
    name = str(values["name"])
    if not _KEY_ONLY.match(name):
        raise SchemaError("section %r: %r is not a valid key name." % (section, name))
    var_type = values.get("type", "string")
    if var_type not in TYPES:
        raise SchemaError("%s has type %r; use one of %s." % (name, var_type, ", ".join(TYPES)))
    generate = values.get("generate")
    if generate:
        if var_type != "secret":
            raise SchemaError("%s has `generate` but is not of type secret." % name)
        if not isinstance(generate, dict) or generate.get("encoding") not in ENCODINGS:
            raise SchemaError(
                "%s: generate must be {bytes: N, encoding: %s}, not %r."
                % (name, "|".join(ENCODINGS), generate)
            )
        if not isinstance(generate.get("bytes"), int) or generate["bytes"] < 16:
            raise SchemaError("%s: generate.bytes must be a number of at least 16." % name)
    return Variable(
        name=name,
        default=env_string(values.get("default")),
        type=var_type,
        description=str(values.get("description", "")),
        required=bool(values.get("required", False)),
        section=section,
        generate=generate or None,
        was=str(values["was"]) if values.get("was") else None,
    )


def build_schema(data: dict, services=None) -> Schema:
    """The schema with its ``per_service`` variables expanded for each catalog entry."""
    if not isinstance(data, dict) or not isinstance(data.get("sections"), list):
        raise SchemaError("the schema needs a `sections` list at its top.")
    services = [_service_fields(s, i) for i, s in enumerate(services or [])]
    sections = []
    seen = {}
    for raw in data["sections"]:
        name = str(raw.get("name", ""))
        variables = [_variable(v, name) for v in raw.get("variables") or []]
        for fields in services:
            for template in raw.get("per_service") or []:
                if _condition(template.get("when"), fields):
                    variables.append(_variable(template, name, fields))
        for variable in variables:
            if variable.name in seen:
                raise SchemaError(
                    "%s is declared twice (sections %r and %r); keep one."
                    % (variable.name, seen[variable.name], name)
                )
            seen[variable.name] = name
        sections.append(Section(name, str(raw.get("description", "")), variables))
    stale = data.get("stale") or {}
    if not isinstance(stale, dict) or not all(isinstance(v, list) for v in stale.values()):
        raise SchemaError("the schema's `stale` must map keys to lists of older values.")
    return Schema(sections, {str(k): [env_string(v) for v in vs] for k, vs in stale.items()})


def check_value(var_type: str, value: str):
    """None when ``value`` fits ``var_type``; otherwise what it should look like."""
    value = str(value)
    if var_type in ("string", "secret") or value == "":
        return None
    if "${" in value:
        return None  # a reference: the reader expands it
    if var_type == "int":
        return None if re.match(r"^-?\d+$", value) else "a whole number such as 10"
    if var_type == "port":
        ok = value.isdigit() and 1 <= int(value) <= 65535
        return None if ok else "a port number from 1 to 65535"
    if var_type == "duration":
        return None if _DURATION.match(value) else "a Go duration such as 30s, 5m or 24h"
    if var_type == "url":
        ok = _URL.match(value) or _HOST_PORT.match(value)
        return None if ok else "a URL (scheme://host...) or a host:port address"
    if var_type == "bool":
        return None if value.lower() in _BOOLS else "true or false"
    if var_type == "email":
        return None if _EMAIL.match(value) else "an e-mail address such as ops@example.com"
    if var_type == "list":
        ok = all(part.strip() for part in value.split(","))
        return None if ok else "comma-separated items with no empty item"
    return "one of the types %s" % ", ".join(TYPES)


def invalid_overrides(schema: Schema, overrides: dict) -> list:
    """One message per override that is not a valid key or does not fit its type. A secret's
    value is never quoted."""
    errors = []
    variables = schema.variables
    for key, value in (overrides or {}).items():
        if not _KEY_ONLY.match(str(key)):
            errors.append(
                "overrides: %r is not a key name; use letters, digits and _ (MY_KEY)." % key
            )
            continue
        variable = variables.get(key)
        problem = check_value(variable.type, env_string(value)) if variable else None
        if problem:
            shown = MASK if schema.is_secret(key) else repr(env_string(value))
            errors.append(
                "overrides[%s] is %s, which is not %s (type %s)."
                % (key, shown, problem, variable.type)
            )
    return errors


def generate_secret(spec: dict) -> str:
    """A new random value: ``spec['bytes']`` bytes from secrets.token_bytes, encoded."""
    raw = secrets.token_bytes(spec["bytes"])
    if spec["encoding"] == "hex":
        return raw.hex()
    if spec["encoding"] == "urlsafe":
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    return base64.b64encode(raw).decode("ascii")


# --- rendering ------------------------------------------------------------------------------


@dataclass
class Rendered:
    text: str
    added: list  # keys written with their schema default
    generated: list  # secret keys given a new random value
    updated: list  # keys whose value an override changed
    unknown: list  # keys of the file that the schema does not know, kept
    secrets: list  # every secret value of the result (to hide them from any output)


def _managed_lines(schema: Schema) -> set:
    return set(HEADER) | {UNKNOWN_HEADER} | {"# %s" % s.name for s in schema.sections}


def _renamed(known: dict, existing: dict) -> tuple:
    """The values that variables take from their older names (``was``), and the older names
    that are no key of the schema any more, dropped from the file.

    A variable takes the value of its older key when the file has that key and either not
    the variable's own key, or the older key is retired: <PREFIX>_GRPC_PORT's value becomes
    <PREFIX>_PORT's (the name meant the HTTP port before), whose value becomes
    <PREFIX>_HTTP_PORT's, read from the file as it was."""
    renamed, retired = {}, set()
    for variable in known.values():
        old = variable.was
        if not old or old not in existing:
            continue
        if old not in known:
            retired.add(old)
            renamed[variable.name] = existing[old].value
        elif variable.name not in existing:
            renamed[variable.name] = existing[old].value
    return renamed, retired


def render(document: Document, schema: Schema, overrides=None, generate=generate_secret):
    """The new file: schema order, the file's values kept, defaults for missing keys, secrets
    generated when missing or empty (and generation allowed), overrides applied last.

    A file this function wrote and nobody changed renders byte for byte the same."""
    overrides = {str(k): env_string(v) for k, v in (overrides or {}).items()}
    managed = _managed_lines(schema)
    existing = {}
    pending = []
    trailing = []
    for kind, item in document.items:
        if kind == "text":
            if item.strip() and item.strip() not in managed:
                pending.append(item)
            continue
        item.comments = pending
        pending = []
        existing[item.key] = item
    trailing = pending

    known = schema.variables
    renamed, retired = _renamed(known, existing)

    added, generated, updated, secret_values = [], [], [], []
    out = list(HEADER)

    def emit(key, variable):
        entry = existing.get(key)
        lines = list(entry.comments) if entry else []
        if key in overrides:
            value = overrides[key]
            if entry is not None and entry.value == value:
                lines.append(entry.raw)
            else:
                lines.append(format_line(key, value))
                (updated if entry is not None else added).append(key)
        elif key in renamed:
            value = renamed[key]
            lines.append(format_line(key, value))
            (updated if entry is not None else added).append(key)
        elif (
            variable is not None and entry is not None and entry.value in schema.stale.get(key, ())
        ):
            value = variable.default
            lines.append(format_line(key, value, literal=False))
            updated.append(key)
        elif entry is not None and not (
            variable is not None and variable.generate and entry.value == ""
        ):
            value = entry.value
            lines.append(entry.raw)
        elif variable is not None and variable.generate:
            value = generate(variable.generate)
            lines.append(format_line(key, value))
            generated.append(key)
        else:
            value = variable.default
            lines.append(format_line(key, value, literal=False))
            added.append(key)
        if value and schema.is_secret(key):
            secret_values.append(value)
        return lines

    for section in schema.sections:
        if not section.variables:
            continue
        out.extend(["", "# %s" % section.name])
        for variable in section.variables:
            out.extend(emit(variable.name, variable))

    unknown = [key for key in existing if key not in known and key not in retired]
    extra = [key for key in overrides if key not in known and key not in existing]
    if unknown or extra or trailing:
        out.extend(["", UNKNOWN_HEADER])
        for key in unknown + extra:
            out.extend(emit(key, None))
        out.extend(trailing)
    return Rendered(
        text="\n".join(out) + "\n",
        added=added,
        generated=generated,
        updated=updated,
        unknown=unknown + extra,
        secrets=secret_values,
    )


def mask_text(text: str, schema: Schema) -> str:
    """The .env text with every secret value replaced by ********, and the password of any
    URL too: what a diff may show."""
    try:
        document = parse(text)
    except DotenvError:
        return "(the file cannot be parsed, so it is not shown)\n"
    out = []
    for kind, item in document.items:
        if kind == "text":
            out.append(item)
        elif schema.is_secret(item.key):
            prefix = "export " if item.export else ""
            out.append("%s%s=%s" % (prefix, item.key, MASK if item.value else ""))
        else:
            out.append(_URL_PASSWORD.sub(r"\1" + MASK + "@", item.raw))
    return "\n".join(out) + ("\n" if out else "")
