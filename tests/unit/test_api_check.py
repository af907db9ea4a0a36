"""api_check's pure parts: which base URLs it accepts, where it finds the login's token, and
the table it prints."""

import re

import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils.api_check import (
    _token,
    check_base,
    report_table,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils.http_load import LoadError


def test_a_base_off_loopback_needs_allow_remote():
    assert check_base("http://127.0.0.1:8080/", False) == "http://127.0.0.1:8080"
    # test-api.sh's default API_BASE works as typed.
    assert check_base("http://localhost:8080", False) == "http://127.0.0.1:8080"
    with pytest.raises(LoadError, match="test_api_allow_remote=true"):
        check_base("http://api.example.com", False)
    assert check_base("https://api.example.com/", True) == "https://api.example.com"
    with pytest.raises(LoadError, match="not an http"):
        check_base("ftp://api.example.com", True)


def test_the_token_is_found_at_the_top_or_under_data():
    assert _token({"token": "a"}) == "a"
    assert _token({"access_token": "b"}) == "b"
    assert _token({"data": {"access_token": "c"}}) == "c"
    assert _token({"data": {"token": ""}}) == _token(None) == _token([1]) == ""


def test_the_table_says_ok_or_fail_and_why():
    rows = [
        {"check": "health", "method": "GET", "path": "/health", "status": 200,
         "latency_ms": 1.3, "ok": True, "detail": ""},
        {"check": "users/me", "method": "GET", "path": "/api/v1/users/me", "status": "-",
         "latency_ms": None, "ok": False, "detail": "not sent: the login gave no token"},
    ]  # fmt: skip
    lines = report_table(rows).splitlines()
    assert [re.split(r"\s{2,}", line) for line in lines] == [
        ["CHECK", "STATUS", "LATENCY MS", "RESULT"],
        ["health (GET /health)", "200", "1.3", "ok"],
        ["users/me (GET /api/v1/users/me)", "-", "-", "FAIL: not sent: the login gave no token"],
    ]
    # Fixed width: each column starts at one place on every line (figures to the right).
    assert (
        len({line.index(" ok") if " ok" in line else line.index(" FAIL") for line in lines[1:]})
        == 1
    )
