# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Connection options, connecting and error translation shared by the MongoDB modules.

The modules use these from here:

- ``mongodb_argument_spec()``: the connection options, documented once in the
  ``vhvcorp.devtools.mongodb`` documentation fragment;
- ``connect(module)``: a pinged ``pymongo.MongoClient``, or ``module.fail_json`` with one
  sentence that says what went wrong and what to do;
- ``translate_error(exc, params, action)``: the same one sentence for an error raised later,
  while the module works;
- ``mongodb_session(module, action)``: both, around a ``with`` block; our own errors
  (``_errors.DevtoolsError``) fail as they are, any other is translated.

``open_client(params)`` and ``MongoDBError`` do the same without Ansible, for pytest and for
other module_utils. No function here ever puts a password in a message: every message goes
through ``redact()``.
"""

from __future__ import annotations

import contextlib
import os
import re
import traceback
from urllib.parse import unquote, urlsplit

from ansible_collections.vhvcorp.devtools.plugins.module_utils._errors import DevtoolsError

try:
    import pymongo
    import pymongo.errors
    from pymongo import uri_parser

    HAS_PYMONGO = True
    PYMONGO_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised only where pymongo is missing
    pymongo = None
    uri_parser = None
    HAS_PYMONGO = False
    PYMONGO_IMPORT_ERROR = traceback.format_exc()

try:
    import yaml  # noqa: F401 - only whether it imports matters here

    HAS_YAML = True
    YAML_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised only where PyYAML is missing
    HAS_YAML = False
    YAML_IMPORT_ERROR = traceback.format_exc()

DEFAULT_URI = "mongodb://127.0.0.1:27017/"
REDACTED = "***"

# The MongoDB server error codes this file tells apart.
AUTH_FAILED_CODES = frozenset((18, 11))  # AuthenticationFailed, UserNotFound
UNAUTHORIZED_CODES = frozenset((13,))  # Unauthorized: logged in, but lacks the role

_TLS_HINTS = ("ssl", "tls", "certificate", "handshake", "wrong_version_number")


def mongodb_argument_spec(**extra):
    """The shared connection options; ``extra`` adds a module's own options."""
    spec = dict(
        # `uri` is deliberately NOT no_log. Ansible masks every occurrence of a no_log value
        # in the whole result, so a no_log URI would turn our own messages ("cannot reach
        # mongodb://127.0.0.1:27017/") and the returned `uri`-derived data into "********",
        # and would hide the harmless host and port a user needs to debug. Instead the
        # password a URI may carry is registered with the module as a no_log value
        # (protect_uri_secrets) so Ansible masks just that, the invocation included, and
        # every message of ours goes through redact()/redact_uri() before it is returned.
        uri=dict(type="str", default=DEFAULT_URI),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        auth_source=dict(type="str"),
        tls=dict(type="bool", default=False),
        tls_ca_file=dict(type="path"),
        # A path to a PEM file, not the key itself.
        tls_certificate_key_file=dict(type="path", no_log=False),
        tls_allow_invalid_certificates=dict(type="bool", default=False),
        connect_timeout=dict(type="float", default=10.0),
        server_selection_timeout=dict(type="float", default=10.0),
    )
    spec.update(extra)
    return spec


class MongoDBError(DevtoolsError):
    """An error whose message is already one actionable, redacted sentence."""


# --- redaction ------------------------------------------------------------------------------


def uri_secrets(uri):
    """The password a URI carries, as written and percent-decoded (empty list if none)."""
    if not uri:
        return []
    # Parse by hand: this must work on URIs pymongo itself rejects (they end up in messages).
    rest = uri.split("://", 1)[1] if "://" in uri else uri
    netloc = re.split(r"[/?]", rest, maxsplit=1)[0]
    if "@" not in netloc:
        return []
    userinfo = netloc.rsplit("@", 1)[0]
    if ":" not in userinfo:
        return []
    raw = userinfo.split(":", 1)[1]
    secrets = {raw, unquote(raw)} - {""}
    return sorted(secrets, key=len, reverse=True)


def redact_uri(uri):
    """The URI with its password replaced by ``***`` (user, hosts and options kept)."""
    if not uri:
        return uri
    scheme, sep, rest = uri.partition("://")
    if not sep:
        scheme, rest = "", uri
    match = re.match(r"([^/?]*)(.*)", rest, re.DOTALL)
    netloc, tail = match.group(1), match.group(2)
    if "@" in netloc:
        userinfo, hosts = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":" + REDACTED
        netloc = userinfo + "@" + hosts
    # A password can also hide in the query string (e.g. a proxyPassword option).
    tail = re.sub(r"(?i)((?:proxy)?password=)[^&]*", r"\1" + REDACTED, tail)
    return (scheme + sep if sep else "") + netloc + tail


def redact(text, secrets=()):
    """``text`` with each secret replaced by ``***``, longest first."""
    text = str(text)
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _secrets(params):
    params = params or {}
    found = list(uri_secrets(params.get("uri")))
    if params.get("password"):
        found.append(params["password"])
    return found


def protect_uri_secrets(module):
    """Register the URI's password with Ansible so it is masked everywhere, invocation too.

    Call it right after creating the AnsibleModule; connect() calls it as well.
    """
    for secret in uri_secrets(module.params.get("uri")):
        module.no_log_values.add(secret)


# --- connecting -----------------------------------------------------------------------------


def describe_target(params):
    """``host:port[,host:port]`` of the URI, for messages (never user or password)."""
    uri = (params or {}).get("uri") or DEFAULT_URI
    try:
        nodes = uri_parser.parse_uri(uri, validate=False, warn=True)["nodelist"]
        return ",".join("%s:%s" % node for node in nodes)
    except Exception:
        try:
            return urlsplit(uri).netloc.rsplit("@", 1)[-1] or redact_uri(uri)
        except ValueError:
            return redact_uri(uri)


def client_kwargs(params):
    """The MongoClient keyword arguments for the module options. No network I/O.

    Raises MongoDBError naming the option when an option cannot work.
    """
    for option in ("connect_timeout", "server_selection_timeout"):
        value = params.get(option, 10.0)
        if value is None or value <= 0:
            raise MongoDBError(
                "Option `%s` is %r; set it to a number of seconds greater than 0." % (option, value)
            )
    kwargs = dict(
        host=params.get("uri") or DEFAULT_URI,
        connectTimeoutMS=int(params.get("connect_timeout", 10.0) * 1000),
        serverSelectionTimeoutMS=int(params.get("server_selection_timeout", 10.0) * 1000),
        # One short-lived client per module run: no background pool to keep warm.
        maxPoolSize=4,
        appname="vhvcorp.devtools",
    )
    if params.get("password") and not params.get("username"):
        raise MongoDBError(
            "Option `password` is set but `username` is not; set `username` as well, "
            "or put both in `uri`."
        )
    if params.get("username"):
        kwargs["username"] = params["username"]
    if params.get("password"):
        kwargs["password"] = params["password"]
    if params.get("auth_source"):
        kwargs["authSource"] = params["auth_source"]
    tls_files = ("tls_ca_file", "tls_certificate_key_file")
    if params.get("tls") or any(params.get(o) for o in tls_files):
        kwargs["tls"] = True
        for option, key in (
            ("tls_ca_file", "tlsCAFile"),
            ("tls_certificate_key_file", "tlsCertificateKeyFile"),
        ):
            path = params.get(option)
            if path:
                if not os.path.isfile(path):
                    raise MongoDBError(
                        "Option `%s` is %r, which is not a readable file; give the path of "
                        "the PEM file (or leave the option out)." % (option, path)
                    )
                kwargs[key] = path
        if params.get("tls_allow_invalid_certificates"):
            kwargs["tlsAllowInvalidCertificates"] = True
    elif params.get("tls_allow_invalid_certificates"):
        kwargs["tls"] = True
        kwargs["tlsAllowInvalidCertificates"] = True
    return kwargs


def open_client(params):
    """A connected and pinged MongoClient for the module options, or MongoDBError."""
    if not HAS_PYMONGO:
        raise MongoDBError(
            "The Python library pymongo is not installed for the Python that runs the module; "
            "install it (pip install 'pymongo>=4') or set ansible_python_interpreter to a "
            "Python that has it."
        )
    kwargs = client_kwargs(params)
    client = None
    try:
        client = pymongo.MongoClient(**kwargs)
        client.admin.command("ping")
    except Exception as exc:  # noqa: BLE001 - every failure becomes one sentence
        if client is not None:
            client.close()
        raise MongoDBError(translate_error(exc, params, action="connect")) from exc
    return client


def check_libraries(module, need_yaml=False):
    """Mask the URI's password, then fail_json if pymongo (or PyYAML) is missing.

    Call it right after creating the AnsibleModule; connect() calls it as well.
    """
    from ansible.module_utils.basic import missing_required_lib

    protect_uri_secrets(module)
    missing = []
    if not HAS_PYMONGO:
        missing.append(("pymongo", "pymongo>=4", PYMONGO_IMPORT_ERROR))
    if need_yaml and not HAS_YAML:
        missing.append(("PyYAML", "PyYAML", YAML_IMPORT_ERROR))
    if missing:
        library, requirement, error = missing[0]
        module.fail_json(
            msg=missing_required_lib(library).rstrip(".")
            + "; install it for that Python (pip install '%s'), or set "
            "ansible_python_interpreter to a Python that has it." % requirement,
            exception=error,
        )


def connect(module):
    """A connected, pinged MongoClient for the module's options, or fail_json."""
    check_libraries(module)
    try:
        return open_client(module.params)
    except MongoDBError as exc:
        module.fail_json(msg=str(exc))


def fail_with(module, exc, action):
    """fail_json with the translated sentence for an exception raised while working."""
    module.fail_json(msg=translate_error(exc, module.params, action=action))


@contextlib.contextmanager
def mongodb_session(module, action):
    """A connected client for the body of a ``with``, closed afterwards.

    Our own errors (DevtoolsError: already one sentence) fail with their message; any other
    exception (pymongo's, mostly) fails with the translated sentence naming ``action``.
    ``fail_json`` raised in the body (SystemExit) passes through untouched.
    """
    client = connect(module)
    try:
        yield client
    except DevtoolsError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # noqa: BLE001 - pymongo errors become one sentence
        fail_with(module, exc, action)
    finally:
        client.close()


# --- error translation ----------------------------------------------------------------------


def _tls_failure(text):
    lowered = text.lower()
    return any(hint in lowered for hint in _TLS_HINTS)


def _first_line(text, limit=300):
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    line = line.split(", full error:")[0].rstrip(" .")
    # FerretDB prefixes internal errors with Go source locations: keep the reason only.
    line = re.sub(r"\[[^\]]*\.go:\d+[^\]]*\]\s*", "", line)
    return line if len(line) <= limit else line[: limit - 3] + "..."


def translate_error(exc, params=None, action=None):
    """One actionable sentence (redacted) for a pymongo or OS exception.

    ``params`` are the module options (for host, user, timeouts); ``action`` names what was
    being done ("connect", "seed collection users", ...).
    """
    params = params or {}
    secrets = _secrets(params)
    target = describe_target(params)
    doing = " while trying to %s" % action if action and action != "connect" else ""
    text = str(exc)
    errors = pymongo.errors if HAS_PYMONGO else None
    msg = None

    if errors is not None and isinstance(exc, errors.InvalidURI):
        msg = (
            "Option `uri` value %r is not a valid MongoDB URI (%s); write it as "
            "mongodb://[user:password@]host[:port]/[?options], percent-encoding special "
            "characters in the user and password."
            % (redact_uri(params.get("uri") or ""), _first_line(text))
        )
    elif (
        errors is not None
        and isinstance(exc, errors.OperationFailure)
        and (exc.code in AUTH_FAILED_CODES)
    ):
        user = params.get("username") or _uri_user(params.get("uri")) or "(none)"
        msg = (
            "MongoDB at %s rejected the login of user %r with auth_source %r (%s); check "
            "`username`, `password` and `auth_source` (or the user and password in `uri`), or "
            "leave them out for a server without authentication."
            % (target, user, _auth_source(params), _first_line(text))
        )
    elif (
        errors is not None
        and isinstance(exc, errors.OperationFailure)
        and (exc.code in UNAUTHORIZED_CODES)
    ):
        msg = (
            "MongoDB at %s refused the operation%s because the user lacks the privilege (%s); "
            "grant the user the readWrite role on the database, or connect as a user that has it."
            % (target, doing, _first_line(text))
        )
    elif errors is not None and isinstance(exc, errors.ConnectionFailure):
        # ServerSelectionTimeoutError, AutoReconnect, NetworkTimeout, ...
        selection = params.get("server_selection_timeout", 10.0)
        tls = (
            params.get("tls") or params.get("tls_ca_file") or params.get("tls_certificate_key_file")
        )
        if _tls_failure(text):
            msg = (
                "The TLS handshake with MongoDB at %s failed%s (%s); set `tls_ca_file` to the "
                "CA that signed the server's certificate, fix `tls_certificate_key_file`, or set "
                "`tls: false` if the server does not use TLS." % (target, doing, _reason(text))
            )
        elif tls and "no servers found yet" in text.lower():
            msg = (
                "No TLS connection to MongoDB at %s could be made within %ss%s; the server "
                "probably does not speak TLS, so set `tls: false`, or check that %s is the "
                "server's TLS port." % (target, _num(selection), doing, target)
            )
        else:
            msg = (
                "Cannot reach MongoDB at %s within %ss%s (%s); start it (the local stack's: "
                "`ansible-playbook setup.yml --tags stack`; the test server: `make harness`) or "
                "fix the host and port in `uri`." % (target, _num(selection), doing, _reason(text))
            )
    elif errors is not None and isinstance(exc, errors.ConfigurationError):
        msg = (
            "The MongoDB connection options are inconsistent (%s); check `uri` and the "
            "connection options." % _first_line(text)
        )
    elif errors is not None and isinstance(exc, errors.DuplicateKeyError):
        msg = (
            "MongoDB at %s refused a duplicate key%s (%s); remove the duplicate from the data "
            "or drop the conflicting document." % (target, doing, _first_line(text))
        )
    elif errors is not None and isinstance(exc, errors.OperationFailure):
        msg = (
            "MongoDB at %s refused the operation%s: %s (code %s %s); fix the input named in "
            "that error, or check that the server supports the operation."
            % (
                target,
                doing,
                _first_line((exc.details or {}).get("errmsg") or text),
                exc.code,
                (exc.details or {}).get("codeName", ""),
            )
        )
    elif isinstance(exc, FileNotFoundError) and action == "connect":
        msg = (
            "A TLS file given to MongoDB does not exist (%s); fix `tls_ca_file` or "
            "`tls_certificate_key_file`." % _first_line(text)
        )
    elif isinstance(exc, ValueError) and action == "connect":
        msg = "Option `uri` value %r is not usable (%s); fix the host or port." % (
            redact_uri(params.get("uri") or ""),
            _first_line(text),
        )
    elif errors is not None and isinstance(exc, errors.PyMongoError):
        msg = "MongoDB at %s failed%s: %s; rerun, and if it persists check the server log." % (
            target,
            doing,
            _first_line(text),
        )
    else:
        msg = "%s%s: %s." % (type(exc).__name__, doing, _first_line(text))
    msg = msg.replace("  ", " ").replace(" .", ".")
    return redact(msg, secrets)


def _reason(text):
    """The useful part of a pymongo network error: 'Connection refused', a TLS reason..."""
    match = re.search(r"\[Errno \d+\] ([^(\],]+)", text)
    if match:
        return match.group(1).strip()
    match = re.search(r"\[SSL: ([A-Z_]+)\][^(,)]*", text)
    if match:
        return match.group(0).strip()
    if "no servers found yet" in text.lower():
        return "no answer"
    if "timed out" in text.lower():
        return "timed out"
    return _first_line(text, 160)


def _num(value):
    return ("%g" % value) if isinstance(value, float) else str(value)


def _auth_source(params):
    if params.get("auth_source"):
        return params["auth_source"]
    try:
        parsed = uri_parser.parse_uri(params.get("uri") or DEFAULT_URI, validate=False)
        return parsed["options"].get("authsource") or parsed["database"] or "admin"
    except Exception:
        return "admin"


def _uri_user(uri):
    if not uri or "@" not in uri:
        return None
    rest = uri.split("://", 1)[-1]
    netloc = re.split(r"[/?]", rest, maxsplit=1)[0]
    if "@" not in netloc:
        return None
    return unquote(netloc.rsplit("@", 1)[0].split(":", 1)[0])


# --- server capabilities --------------------------------------------------------------------


def server_capabilities(client):
    """What the server is and can do, from buildInfo and hello.

    FerretDB reports a MongoDB version (7.0.x) but adds ``ferretdbVersion`` to buildInfo; it
    has no transactions, no ``dropTarget`` on renameCollection, no cross-database rename and
    refuses some BSON types (Decimal128, MinKey, MaxKey, code, NaN, nested arrays).
    """
    info = client.admin.command("buildInfo")
    hello = client.admin.command("hello")
    ferretdb = "ferretdbVersion" in info or "ferretdbFeatures" in info
    replica = bool(hello.get("setName")) or hello.get("msg") == "isdbgrid"
    return dict(
        flavor="ferretdb" if ferretdb else "mongodb",
        version=info.get("version", "unknown"),
        ferretdb_version=info.get("ferretdbVersion") if ferretdb else None,
        transactions=(not ferretdb) and replica,
        rename_drop_target=not ferretdb,
        rich_bson_types=not ferretdb,
    )


def document_count(collection):
    """How many documents ``collection`` holds, from the statistics the server keeps
    (``$collStats``), for reports and check mode.

    Not the ``count`` command (``estimated_document_count``): FerretDB answers it by reading
    every document (13 s on 500 MB, against 0.5 s for ``$collStats``). A sharded collection
    gives one statistics document per shard. Where ``$collStats`` is refused (an old server,
    a user without the privilege), the ``count`` command after all.
    """
    try:
        stats = list(collection.aggregate([{"$collStats": {"count": {}}}]))
    except pymongo.errors.OperationFailure:
        stats = []
    counts = [s["count"] for s in stats if "count" in s]
    if counts:
        return int(sum(counts))
    return collection.estimated_document_count()
