"""Connection options, URI redaction and error translation (plugins/module_utils/mongodb.py).

No server: the pymongo exceptions are the real types, built as pymongo builds them.
"""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pymongo.errors
import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils import mongodb

REPO = Path(__file__).resolve().parents[2]


def params(**overrides):
    base = {name: spec.get("default") for name, spec in mongodb.mongodb_argument_spec().items()}
    base.update(overrides)
    return base


def one_sentence(msg: str) -> None:
    """Ends with a period, one line, and no sentence break outside the quoted server text."""
    assert msg.endswith("."), msg
    assert "\n" not in msg, msg
    ours = re.sub(r"\([^()]*\)", "()", msg).replace("e.g. ", "")
    assert ". " not in ours, f"more than one sentence: {msg}"


# --- argument spec --------------------------------------------------------------------------


def test_argument_spec_has_the_agreed_options_and_marks_secrets():
    spec = mongodb.mongodb_argument_spec(database=dict(type="str", default="go_dev"))
    assert set(spec) == {
        "uri",
        "username",
        "password",
        "auth_source",
        "tls",
        "tls_ca_file",
        "tls_certificate_key_file",
        "tls_allow_invalid_certificates",
        "connect_timeout",
        "server_selection_timeout",
        "database",
    }
    assert spec["password"]["no_log"] is True
    # A path, not a secret; said explicitly so Ansible does not guess from the name.
    assert spec["tls_certificate_key_file"]["no_log"] is False
    # Deliberately not no_log: the URI's password is masked on its own instead.
    assert "no_log" not in spec["uri"]
    assert spec["uri"]["default"] == "mongodb://127.0.0.1:27017/"


def test_argument_spec_matches_the_documentation_fragment():
    import yaml
    from ansible_collections.vhvcorp.devtools.plugins.doc_fragments.mongodb import (
        ModuleDocFragment,
    )

    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    spec = mongodb.mongodb_argument_spec()
    assert set(documented) == set(spec)
    for name, option in spec.items():
        assert documented[name]["type"] == option["type"], name
        assert documented[name].get("default") == option.get("default"), name


# --- redaction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "redacted"),
    [
        ("mongodb://127.0.0.1:27017/", "mongodb://127.0.0.1:27017/"),
        ("mongodb://app:s3cret@db:27017/go_dev", "mongodb://app:***@db:27017/go_dev"),
        (
            "mongodb://app:p%40ss%3Aw@h1:1,h2:2/?replicaSet=rs",
            "mongodb://app:***@h1:1,h2:2/?replicaSet=rs",
        ),
        (
            "mongodb+srv://app:pw@cluster.example.net/x",
            "mongodb+srv://app:***@cluster.example.net/x",
        ),
        ("mongodb://onlyuser@db/", "mongodb://onlyuser@db/"),
        ("mongodb://db/?proxyPassword=hush&tls=true", "mongodb://db/?proxyPassword=***&tls=true"),
        # Not even a valid URI: the password still goes.
        ("mongodbx://a:b:c@host", "mongodbx://a:***@host"),
    ],
)
def test_redact_uri(uri, redacted):
    assert mongodb.redact_uri(uri) == redacted


def test_uri_secrets_gives_the_password_as_written_and_decoded():
    assert mongodb.uri_secrets("mongodb://app:p%40ss@db/") == ["p%40ss", "p@ss"]
    assert mongodb.uri_secrets("mongodb://app:plain@db/") == ["plain"]
    assert mongodb.uri_secrets("mongodb://db/") == []
    assert mongodb.uri_secrets(None) == []


def test_redact_replaces_every_secret_longest_first():
    text = "login app:p%40ss (p@ss) failed"
    assert mongodb.redact(text, ["p@ss", "p%40ss"]) == "login app:*** (***) failed"


# --- client options -------------------------------------------------------------------------


def test_client_kwargs_maps_options_to_pymongo(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked here")
    kwargs = mongodb.client_kwargs(
        params(
            uri="mongodb://db:27017/",
            username="app",
            password="pw",
            auth_source="admin",
            tls_ca_file=str(ca),
            connect_timeout=2.5,
            server_selection_timeout=3,
        )
    )
    assert kwargs["host"] == "mongodb://db:27017/"
    assert (kwargs["username"], kwargs["password"], kwargs["authSource"]) == ("app", "pw", "admin")
    assert kwargs["tls"] is True and kwargs["tlsCAFile"] == str(ca)
    assert "tlsAllowInvalidCertificates" not in kwargs
    assert (kwargs["connectTimeoutMS"], kwargs["serverSelectionTimeoutMS"]) == (2500, 3000)


def test_client_kwargs_without_tls_sets_no_tls_options():
    kwargs = mongodb.client_kwargs(params())
    assert not any(key.startswith("tls") for key in kwargs)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        (dict(password="pw"), "Option `password` is set but `username` is not"),
        (dict(tls_ca_file="/nonexistent/ca.pem"), "Option `tls_ca_file` is '/nonexistent/ca.pem'"),
        (dict(server_selection_timeout=0), "Option `server_selection_timeout` is 0"),
    ],
)
def test_client_kwargs_refuses_unusable_options(overrides, fragment):
    with pytest.raises(mongodb.MongoDBError) as caught:
        mongodb.client_kwargs(params(**overrides))
    assert fragment in str(caught.value)
    one_sentence(str(caught.value))


# --- error translation ----------------------------------------------------------------------


def test_unreachable_server():
    exc = pymongo.errors.ServerSelectionTimeoutError(
        "127.0.0.1:1: [Errno 111] Connection refused (configured timeouts: socketTimeoutMS: "
        "2000.0ms, connectTimeoutMS: 2000.0ms), Timeout: 2.0s, Topology Description: <...>"
    )
    msg = mongodb.translate_error(
        exc, params(uri="mongodb://app:pw@127.0.0.1:1/", server_selection_timeout=2.0), "connect"
    )
    assert msg.startswith("Cannot reach MongoDB at 127.0.0.1:1 within 2s (Connection refused)")
    assert "`uri`" in msg and "pw" not in msg
    one_sentence(msg)


def test_bad_credentials_name_user_and_auth_source_never_the_password():
    exc = pymongo.errors.OperationFailure(
        "Authentication failed.",
        code=18,
        details={
            "ok": 0.0,
            "errmsg": "Authentication failed.",
            "code": 18,
            "codeName": "AuthenticationFailed",
        },
    )
    msg = mongodb.translate_error(
        exc, params(uri="mongodb://app:hunter2@db:27017/go_dev", password=None), "connect"
    )
    assert "rejected the login of user 'app' with auth_source 'go_dev'" in msg
    assert "`username`, `password` and `auth_source`" in msg
    assert "hunter2" not in msg
    one_sentence(msg)

    msg = mongodb.translate_error(
        exc, params(username="ops", password="hunter2", auth_source="admin"), "connect"
    )
    assert "user 'ops' with auth_source 'admin'" in msg and "hunter2" not in msg


def test_a_password_echoed_by_the_server_is_still_redacted():
    exc = pymongo.errors.OperationFailure("bad password hunter2 for app", code=18)
    msg = mongodb.translate_error(exc, params(username="app", password="hunter2"), "connect")
    assert "hunter2" not in msg and "***" in msg


def test_tls_certificate_failure():
    exc = pymongo.errors.ServerSelectionTimeoutError(
        "db:27017: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self signed "
        "certificate (_ssl.c:1006) (configured timeouts: connectTimeoutMS: 20000.0ms), Timeout: 30s"
    )
    msg = mongodb.translate_error(exc, params(uri="mongodb://db:27017/", tls=True), "connect")
    assert msg.startswith("The TLS handshake with MongoDB at db:27017 failed")
    assert "CERTIFICATE_VERIFY_FAILED" in msg and "`tls_ca_file`" in msg
    one_sentence(msg)


def test_tls_to_a_server_without_tls():
    exc = pymongo.errors.ServerSelectionTimeoutError("No servers found yet, Timeout: 1.0s, ...")
    msg = mongodb.translate_error(
        exc, params(uri="mongodb://db:27017/", tls=True, server_selection_timeout=1.0), "connect"
    )
    assert "No TLS connection to MongoDB at db:27017" in msg and "`tls: false`" in msg
    one_sentence(msg)


def test_invalid_uri_quotes_the_redacted_value():
    exc = pymongo.errors.InvalidURI("Invalid URI scheme: URI must begin with 'mongodb://'")
    msg = mongodb.translate_error(exc, params(uri="mongo://app:pw@db/"), "connect")
    assert "Option `uri` value 'mongo://app:***@db/' is not a valid MongoDB URI" in msg
    assert ":pw@" not in msg
    one_sentence(msg)


def test_missing_privilege_and_other_server_refusals():
    unauthorized = pymongo.errors.OperationFailure(
        "not authorized on go_dev to execute command { insert: ... }", code=13
    )
    msg = mongodb.translate_error(
        unauthorized, params(uri="mongodb://db/"), "seed database 'go_dev'"
    )
    assert "while trying to seed database 'go_dev'" in msg and "readWrite" in msg
    one_sentence(msg)

    other = pymongo.errors.OperationFailure(
        'Index option "expireAfterSeconds" is not implemented yet, full error: {...}',
        code=238,
        details={
            "errmsg": 'Index option "expireAfterSeconds" is not implemented yet',
            "codeName": "NotImplemented",
        },
    )
    msg = mongodb.translate_error(other, params(uri="mongodb://db/"), "migrate database 'go_dev'")
    assert "expireAfterSeconds" in msg and "code 238 NotImplemented" in msg
    assert "full error" not in msg
    one_sentence(msg)


def test_ferretdb_go_source_locations_are_cut():
    errmsg = (
        "[msg_update.go:133 handler.(*Handler).updateDocument] [update.go:114 "
        "common.UpdateDocument] constraint failed: UNIQUE constraint failed: index 'u_email_1'"
    )
    exc = pymongo.errors.OperationFailure(
        errmsg, code=1, details={"errmsg": errmsg, "code": 1, "codeName": "InternalError"}
    )
    msg = mongodb.translate_error(exc, params(uri="mongodb://db/"), "seed database 'go_dev'")
    assert ": constraint failed: UNIQUE constraint failed: index 'u_email_1' (code 1 " in msg
    assert ".go:" not in msg


def test_duplicate_key():
    exc = pymongo.errors.DuplicateKeyError(
        "E11000 duplicate key error ... email_1 dup key", code=11000
    )
    msg = mongodb.translate_error(exc, params(), "seed database 'go_dev'")
    assert "duplicate key" in msg and "E11000" in msg
    one_sentence(msg)


# --- without pymongo ------------------------------------------------------------------------


def test_import_guard_reports_missing_pymongo():
    """The module_utils import without pymongo and say how to install it."""
    code = textwrap.dedent(
        """
        import sys
        sys.modules["pymongo"] = None  # makes `import pymongo` raise ImportError
        sys.modules["bson"] = None
        from ansible_collections.vhvcorp.devtools.plugins.module_utils import mongodb
        assert mongodb.HAS_PYMONGO is False
        assert "pymongo" in mongodb.PYMONGO_IMPORT_ERROR
        try:
            mongodb.open_client({"uri": "mongodb://127.0.0.1:1/"})
        except mongodb.MongoDBError as exc:
            print(exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO / ".collections")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "pymongo is not installed" in result.stdout
    assert "pip install 'pymongo>=4'" in result.stdout
    assert "ansible_python_interpreter" in result.stdout
