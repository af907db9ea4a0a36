"""env_validate's rules (plugins/module_utils/env_validate.py) on the shipped schema."""

import importlib
from pathlib import Path

import pytest
import yaml
from ansible_collections.vhvcorp.devtools.plugins.module_utils import _env_schema, dotenv
from ansible_collections.vhvcorp.devtools.plugins.module_utils.env_validate import (
    summary,
    validate,
)

REPO = Path(__file__).resolve().parents[2]
SCHEMA_DATA = _env_schema.SCHEMA
CATALOG = yaml.safe_load((REPO / "group_vars/all/services.yml").read_text())["devtools_services"]
SCHEMA = dotenv.build_schema(SCHEMA_DATA, CATALOG)
JWT = "Q" * 88
PASSWORD = "rAnd0m-" + "p" * 25


def env(**changes) -> str:
    """The .env the workspace role writes (its secrets set), with ``changes`` (None deletes)."""
    overrides = {
        "JWT_SECRET": JWT,
        "RABBITMQ_PASSWORD": PASSWORD,
        "GRAFANA_PASSWORD": PASSWORD,
        "SMTP_PASSWORD": PASSWORD,
    }
    text = dotenv.render(dotenv.parse(""), SCHEMA, overrides).text
    lines = []
    for line in text.splitlines():
        key = line.split("=", 1)[0]
        if key in changes:
            if changes[key] is not None:
                lines.append(dotenv.format_line(key, changes.pop(key)))
            continue
        lines.append(line)
    lines += [dotenv.format_line(k, v) for k, v in changes.items() if v is not None]
    return "\n".join(lines) + "\n"


def keys(problems):
    return sorted(p["key"] for p in problems)


def test_the_file_the_workspace_role_writes_is_valid_in_every_environment():
    for environment in ("development", "production"):
        report = validate(env(ENVIRONMENT=environment), SCHEMA)
        assert report.errors == [] and report.warnings == [] and report.unknown == []
        assert report.checked == len(SCHEMA.variables)


def test_every_problem_is_listed_at_once():
    text = env(
        ENVIRONMENT="production",
        JWT_SECRET="change-this-in-production-very-important",
        RABBITMQ_PASSWORD="guest",
        GRAFANA_PASSWORD="admin",
        AUTH_SERVICE_PORT="80a",
        JWT_EXPIRATION="1 day",
        SMTP_TLS="maybe",
        SMTP_FROM="noreply",
        MONGODB_URI="mongodb-without-scheme",
        MONGODB_MAX_POOL_SIZE="many",
        CORS_ALLOWED_METHODS="GET,,POST",
        APP_NAME="",
        LOG_LEVEL=None,
        MY_OWN_FLAG="1",
    )
    report = validate(text, SCHEMA)
    assert keys(report.errors) == [
        "APP_NAME",
        "AUTH_SERVICE_PORT",
        "CORS_ALLOWED_METHODS",
        "GRAFANA_PASSWORD",
        "JWT_EXPIRATION",
        "JWT_SECRET",
        "LOG_LEVEL",
        "MONGODB_MAX_POOL_SIZE",
        "MONGODB_URI",
        "RABBITMQ_PASSWORD",
        "SMTP_FROM",
        "SMTP_TLS",
    ]
    assert report.unknown == ["MY_OWN_FLAG"] and report.warnings == []
    problems = {p["key"]: p["problem"] for p in report.errors}
    assert problems["AUTH_SERVICE_PORT"] == "'80a' is not a port number from 1 to 65535 (type port)"
    assert problems["LOG_LEVEL"].startswith("missing; it is required")
    assert problems["APP_NAME"].startswith("empty; it is required")
    assert "example secret published in the documentation" in problems["JWT_SECRET"]
    assert "well-known default password" in problems["RABBITMQ_PASSWORD"]
    message = summary(report, "/ws/.env")
    assert message.startswith("/ws/.env has 12 problems (ENVIRONMENT=production): ")
    for secret in ("change-this-in-production", "guest", "admin'"):
        assert secret not in str(report.errors) + message


def test_in_development_defaults_are_warnings_not_errors():
    report = validate(env(JWT_SECRET="short", RABBITMQ_PASSWORD="guest"), SCHEMA)
    assert report.development and report.errors == []
    assert keys(report.warnings) == ["JWT_SECRET", "RABBITMQ_PASSWORD"]
    assert "is 5 bytes, shorter than 32" in report.warnings[0]["problem"]


@pytest.mark.parametrize("environment", ["staging", "production", "test"])
def test_a_short_jwt_secret_is_an_error_outside_development(environment):
    report = validate(env(ENVIRONMENT=environment, JWT_SECRET="x" * 31), SCHEMA)
    assert keys(report.errors) == ["JWT_SECRET"]
    assert "31 bytes" in report.errors[0]["problem"] and "x" * 31 not in str(report.errors)
    assert validate(env(ENVIRONMENT=environment, JWT_SECRET="x" * 32), SCHEMA).errors == []


def test_a_default_password_inside_a_url_is_caught_and_masked():
    url = "amqp://guest:guest@rabbitmq:5672/"
    report = validate(env(ENVIRONMENT="production", RABBITMQ_URL=url), SCHEMA)
    assert keys(report.errors) == ["RABBITMQ_URL"]
    assert "has a URL with a well-known default password" in report.errors[0]["problem"]
    bad_type = validate(env(RABBITMQ_URL="amqp//u:hunter2@x"), SCHEMA)
    assert "hunter2" not in str(bad_type.errors)


def test_references_are_expanded_before_the_type_check():
    text = env(AUTH_SERVICE_PORT="${PORT_BASE}1", PORT_BASE="808")
    assert validate(text, SCHEMA).errors == []
    text = env(AUTH_SERVICE_PORT="${PORT_BASE}1", PORT_BASE="80x")
    assert keys(validate(text, SCHEMA).errors) == ["AUTH_SERVICE_PORT"]


def test_duplicate_keys_name_their_lines():
    text = env() + "JWT_EXPIRATION=1h\n"
    report = validate(text, SCHEMA)
    line = len(text.splitlines())
    first = text.splitlines().index("JWT_EXPIRATION=24h") + 1
    assert report.errors == [
        {
            "key": "JWT_EXPIRATION",
            "problem": f"set 2 times (lines {first}, {line}); readers disagree on which wins, "
            "keep one.",
        }
    ]


def test_a_file_that_does_not_parse_raises_with_the_line():
    with pytest.raises(dotenv.DotenvError, match="line 2"):
        validate("A=1\nnot a line\n", SCHEMA)


def test_module_documents_what_it_returns():
    module = importlib.import_module(
        "ansible_collections.vhvcorp.devtools.plugins.modules.env_validate"
    )
    # Options against the spec: tests/unit/test_module_docs.py.
    doc = yaml.safe_load(module.DOCUMENTATION)
    returned = yaml.safe_load(module.RETURN)
    assert set(returned) == {
        "env_file",
        "environment",
        "development",
        "valid",
        "problems",
        "tolerated",
        "unknown",
        "checked",
    }
    assert doc["attributes"]["check_mode"]["support"] == "full"
