"""HS256 tokens and Go durations (plugins/module_utils/jwt_token.py), and the module's docs."""

import base64
import hashlib
import hmac
import importlib
import json

import pytest
import yaml
from ansible_collections.vhvcorp.devtools.plugins.module_utils import jwt_token as jwt
from ansible_collections.vhvcorp.devtools.plugins.module_utils.jwt_token import TokenError

# RFC 7515 appendix A.1: the HS256 example, its key (a JWK "k") and its signature.
RFC_KEY = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
RFC_INPUT = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
)
RFC_SIGNATURE = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
SECRET = "k" * 88
NOW = 1767225600  # 2026-01-01T00:00:00Z


def test_signature_matches_rfc_7515_appendix_a1():
    key = jwt.b64url_decode(RFC_KEY)
    assert jwt.sign(RFC_INPUT.encode("ascii"), key) == RFC_SIGNATURE


def test_rfc_token_verifies_and_its_payload_is_the_rfc_one():
    token = f"{RFC_INPUT}.{RFC_SIGNATURE}"
    key = jwt.b64url_decode(RFC_KEY)
    payload = jwt.decode(token, key, verify_exp=False)
    assert payload == {"iss": "joe", "exp": 1300819380, "http://example.com/is_root": True}
    with pytest.raises(TokenError, match="expired at 1300819380"):
        jwt.decode(token, key)


def test_round_trip_with_platform_claims_and_independent_hmac_check():
    claims = jwt.build_claims(
        "user-123",
        "tenant-demo",
        ["admin", "user"],
        "saas-platform",
        86400,
        email="a@b.io",
        now=NOW,
    )
    assert list(claims) == ["user_id", "tenant_id", "email", "roles", "iss", "iat", "exp"]
    assert claims["exp"] - claims["iat"] == 86400 and claims["iat"] == NOW
    token = jwt.encode(claims, SECRET)
    head, body, signature = token.split(".")
    assert "=" not in token
    assert json.loads(base64.urlsafe_b64decode(head + "==")) == {"alg": "HS256", "typ": "JWT"}
    expected = hmac.new(SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "=") == expected
    assert jwt.decode(token, SECRET, now=NOW + 10) == claims


def test_wrong_secret_tampering_and_expiry_are_refused():
    token = jwt.encode(jwt.build_claims("u", "t", [], "iss", 60, now=NOW), SECRET)
    with pytest.raises(TokenError, match="signature does not match"):
        jwt.decode(token, "other" * 10, now=NOW)
    head, body, signature = token.split(".")
    forged = jwt.b64url(json.dumps({"user_id": "admin", "exp": NOW + 60}).encode())
    with pytest.raises(TokenError, match="signature does not match"):
        jwt.decode(f"{head}.{forged}.{signature}", SECRET, now=NOW)
    assert jwt.decode(token, SECRET, now=NOW + 59)["user_id"] == "u"
    with pytest.raises(TokenError, match="expired"):
        jwt.decode(token, SECRET, now=NOW + 60)
    with pytest.raises(TokenError, match="three dot-separated parts; this one has 2"):
        jwt.decode(f"{head}.{body}", SECRET)


def test_empty_secret_is_a_clear_error():
    with pytest.raises(TokenError, match="secret is empty; set JWT_SECRET"):
        jwt.encode({"a": 1}, "")


def test_extra_claims_cannot_replace_the_managed_ones():
    claims = jwt.build_claims("u", "t", ["r"], "i", 60, extra={"scope": "read"}, now=NOW)
    assert claims["scope"] == "read"
    with pytest.raises(TokenError, match="claims sets exp, iss, which the module sets itself"):
        jwt.build_claims("u", "t", [], "i", 60, extra={"iss": "x", "exp": 1}, now=NOW)


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("24h", 86400),
        ("1h30m", 5400),
        ("90s", 90),
        ("1.5h", 5400),
        ("300ms", 0.3),
        ("2h45m30.5s", 9930.5),
        ("1µs", 1e-6),
    ],
)
def test_go_durations(text, seconds):
    assert jwt.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "24", "1d", "-1h", "h", "1h 30m", "0s", "1hh"])
def test_bad_durations_name_the_value_and_the_fix(text):
    with pytest.raises(TokenError) as info:
        jwt.parse_duration(text)
    assert repr(text) in str(info.value)
    assert "24h" in str(info.value)


def test_module_documents_what_it_returns():
    module = importlib.import_module(
        "ansible_collections.vhvcorp.devtools.plugins.modules.jwt_token"
    )
    # Options against the spec: tests/unit/test_module_docs.py.
    doc = yaml.safe_load(module.DOCUMENTATION)
    spec = module.argument_spec()
    assert spec["secret"]["no_log"] is True
    assert doc["attributes"]["check_mode"]["support"] == "full"
    returned = yaml.safe_load(module.RETURN)
    assert set(returned) == {"token", "claims", "header", "expires_at", "secret_source"}
    assert all(v["description"] and "sample" in v for v in returned.values())
