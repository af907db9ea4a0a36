"""The .env parser, writer and schema (plugins/module_utils/dotenv.py) and the shipped schema."""

import base64
import os
import re
import stat
from pathlib import Path

import pytest
import yaml
from ansible_collections.vhvcorp.devtools.plugins.module_utils import _env_schema, dotenv
from ansible_collections.vhvcorp.devtools.plugins.module_utils.dotenv import (
    DotenvError,
    SchemaError,
)

REPO = Path(__file__).resolve().parents[2]
ARCHITECTURE = Path(
    os.environ.get("DEVTOOLS_ARCHITECTURE_DOC", "/work/shared/seed/000_05fba611ea29406a.txt")
)
CATALOG = yaml.safe_load((REPO / "group_vars" / "all" / "services.yml").read_text())[
    "devtools_services"
]
SECRET_VALUES = ("J" * 88, "R" * 32, "S" * 32, "G" * 32)


def schema(services=CATALOG):
    return dotenv.build_schema(_env_schema.SCHEMA, services)


def counting_generator():
    """A deterministic stand-in for generate_secret that counts its calls."""
    calls = []

    def generate(spec):
        calls.append(spec)
        return f"gen{len(calls)}-" + "x" * 20

    return generate, calls


# --- parser ---------------------------------------------------------------------------------


def test_parser_reads_quotes_comments_export_empty_values_and_equals_signs():
    text = "\n".join(
        [
            "# a comment",
            "",
            "PLAIN=value",
            "export EXPORTED=yes",
            "EMPTY=",
            "EMPTY_QUOTED=''",
            "SINGLE='it has spaces # and a hash'",
            'DOUBLE="line\\nbreak \\"quoted\\" \\$HOME"',
            "INLINE=1800s  # 30 minutes",
            "HASH_INSIDE=abc#def",
            "EQUALS=base64==",
            "URL=postgres://u:p@h/db?a=b&c=d",
            "  SPACED = padded  ",
            "REF=amqp://${USER}:${PASS}@host/",
            'MULTI="first',
            'second"',
            "SINGLE_LITERAL='no \\n escapes $HOME'",
        ]
    )
    values = dotenv.parse(text + "\n").values()
    assert values == {
        "PLAIN": "value",
        "EXPORTED": "yes",
        "EMPTY": "",
        "EMPTY_QUOTED": "",
        "SINGLE": "it has spaces # and a hash",
        "DOUBLE": 'line\nbreak "quoted" $HOME',
        "INLINE": "1800s",
        "HASH_INSIDE": "abc#def",
        "EQUALS": "base64==",
        "URL": "postgres://u:p@h/db?a=b&c=d",
        "SPACED": "padded",
        "REF": "amqp://${USER}:${PASS}@host/",
        "MULTI": "first\nsecond",
        "SINGLE_LITERAL": "no \\n escapes $HOME",
    }
    entries = dotenv.parse(text).entries
    assert entries["EXPORTED"].export and not entries["PLAIN"].export
    assert entries["MULTI"].raw == 'MULTI="first\nsecond"'


def test_a_key_written_twice_counts_once_with_its_last_value():
    assert dotenv.parse("A=1\nA=2\n").values() == {"A": "2"}


@pytest.mark.parametrize(
    "text, line",
    [
        ("OK=1\nxyzzy plugh\n", 2),
        ("1KEY=xyzzy\n", 1),
        ('OK=1\nOPEN="xyzzy\n', 2),
        ("QUOTED='x' xyzzy\n", 1),
    ],
)
def test_parser_names_the_bad_line_without_quoting_it(text, line):
    with pytest.raises(DotenvError, match=rf"line {line}\b") as error:
        dotenv.parse(text)
    assert "xyzzy" not in str(error.value)


# --- writer ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "",
        "simple",
        "with space",
        "has#hash",
        "it's",
        'say "hi"',
        "dollar$sign",
        "both ' and $",
        "new\nline",
        "back\\slash",
        "base64+/==",
        "http://localhost:3000,https://app.example.com",
    ],
)
def test_writer_round_trips_every_value(value):
    line = dotenv.format_line("KEY", value)
    assert dotenv.parse(line + "\n").values() == {"KEY": value}


def test_writer_leaves_references_bare_in_templates_and_protects_dollars_in_literals():
    assert dotenv.format_line("U", "amqp://${A}:${B}@h/", literal=False) == (
        "U=amqp://${A}:${B}@h/"
    )
    assert dotenv.format_line("P", "pa$word") == "P='pa$word'"


def test_write_atomic_replaces_the_file_with_mode_0600_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / ".env"
    path.write_text("OLD=1\n")
    path.chmod(0o644)
    dotenv.write_atomic(str(path), "NEW=2\n")
    assert path.read_text() == "NEW=2\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env"]


# --- schema ---------------------------------------------------------------------------------


def architecture_example() -> dict:
    """The keys and values of the architecture document's "Complete .env Example"."""
    text = ARCHITECTURE.read_text()
    block = re.search(r"\*\*Complete \.env Example:\*\*\s*```bash\n(.*?)```", text, re.S)
    assert block, "the architecture document has no 'Complete .env Example' block"
    return dotenv.parse(block.group(1)).values()


def test_the_schema_covers_every_key_of_the_architecture_documents_example():
    example = architecture_example()
    assert len(example) >= 55
    missing = sorted(set(example) - set(schema().variables))
    assert missing == [], f"keys of the architecture document not in the schema: {missing}"


def test_schema_defaults_are_the_documents_values_except_secrets_and_the_rabbitmq_url():
    variables = schema().variables
    # Secrets are generated (or, for Redis, empty as in the document); the document's
    # RABBITMQ_URL is masked and its credentials now come from the two keys it refers to.
    # The document's NOTIFICATION_SERVICE_URL is a gRPC address; the real notification
    # service has no gRPC, and the gateway calls it over HTTP.
    differ = {name for name, v in variables.items() if v.secret} | {
        "RABBITMQ_URL",
        "NOTIFICATION_SERVICE_URL",
    }
    assert variables["NOTIFICATION_SERVICE_URL"].default == "http://notification-service:8084"
    mismatched = {
        key: (value, variables[key].default)
        for key, value in architecture_example().items()
        if key not in differ and variables[key].default != value
    }
    assert mismatched == {}
    assert variables["RABBITMQ_URL"].default == (
        "amqp://${RABBITMQ_USERNAME}:${RABBITMQ_PASSWORD}@rabbitmq:5672/"
    )


def test_every_schema_default_fits_its_type_and_every_variable_is_described():
    for variable in schema().variables.values():
        assert dotenv.check_value(variable.type, variable.default) is None, variable.name
        assert variable.type in dotenv.TYPES
        assert variable.description and "{" not in variable.description, variable.name


def test_catalog_services_get_their_variables_and_a_new_service_adds_its_own():
    base = schema().variables
    assert base["AUTH_SERVICE_URL"].default == "auth-service:50051"
    # The names go-shared reads: <PREFIX>_HTTP_PORT and <PREFIX>_PORT (gRPC) with gRPC...
    assert base["AUTH_SERVICE_HTTP_PORT"].default == "8081"
    assert base["AUTH_SERVICE_PORT"].default == "50051"
    # ... and <PREFIX>_PORT (HTTP) alone without.
    assert base["API_GATEWAY_PORT"].default == "8080"
    assert base["API_GATEWAY_URL"].default == "http://api-gateway:8080"
    assert "API_GATEWAY_HTTP_PORT" not in base
    # The gateway's upstreams: gRPC host:port, and notification (HTTP only) over HTTP.
    assert base["TENANT_SERVICE_URL"].default == "tenant-service:50053"
    assert base["NOTIFICATION_SERVICE_PORT"].default == "8084"
    assert base["NOTIFICATION_SERVICE_URL"].default == "http://notification-service:8084"
    assert "NOTIFICATION_SERVICE_HTTP_PORT" not in base
    assert not [k for k in base if k.endswith("_GRPC_PORT")]
    billing = {"name": "billing-service", "http_port": 8086, "grpc_port": 50056}
    grown = schema(CATALOG + [dict(billing, env_prefix="BILLING_SERVICE")]).variables
    assert set(grown) - set(base) == {
        "BILLING_SERVICE_HTTP_PORT",
        "BILLING_SERVICE_PORT",
        "BILLING_SERVICE_URL",
    }
    assert grown["BILLING_SERVICE_PORT"].default == "50056"
    assert grown["BILLING_SERVICE_HTTP_PORT"].default == "8086"
    assert grown["BILLING_SERVICE_URL"].default == "billing-service:50056"
    assert not {k for k in schema([]).variables if k.startswith("AUTH_SERVICE")}


@pytest.mark.parametrize(
    "services, message",
    [
        ([{"name": "x", "http_port": 1}], "has no env_prefix"),
        ([{"name": "x", "http_port": 1, "env_prefix": "lower-case"}], "'lower-case'"),
        (
            [
                {"name": "a", "http_port": 1, "env_prefix": "SAME"},
                {"name": "b", "http_port": 2, "env_prefix": "SAME"},
            ],
            "SAME_PORT is declared twice",
        ),
    ],
)
def test_a_bad_catalog_entry_is_named(services, message):
    with pytest.raises(SchemaError, match=re.escape(message)):
        schema(services)


def test_a_bad_schema_type_is_named_with_the_choices():
    data = {"sections": [{"name": "S", "variables": [{"name": "A", "type": "number"}]}]}
    with pytest.raises(SchemaError, match=r"A has type 'number'; use one of string, int"):
        dotenv.build_schema(data)


@pytest.mark.parametrize(
    "var_type, good, bad",
    [
        ("int", "10", "ten"),
        ("port", "8080", "70000"),
        ("duration", "1h30m", "30 seconds"),
        ("url", "redis://redis:6379/0", "not a url"),
        ("url", "auth-service:50051", "auth-service"),
        ("bool", "true", "maybe"),
        ("email", "ops@example.com", "ops"),
        ("list", "GET,POST", "GET,,POST"),
    ],
)
def test_check_value_accepts_the_type_and_explains_a_mismatch(var_type, good, bad):
    assert dotenv.check_value(var_type, good) is None
    assert dotenv.check_value(var_type, bad)


def test_invalid_overrides_quote_plain_values_but_never_secrets():
    errors = dotenv.invalid_overrides(schema(), {"SMTP_PORT": "smtp", "bad key": "x"})
    assert "overrides[SMTP_PORT] is 'smtp', which is not a port number" in errors[0]
    assert "'bad key' is not a key name" in errors[1]
    assert dotenv.invalid_overrides(schema(), {"JWT_SECRET": "anything", "NEW_KEY": "x"}) == []


# --- rendering ------------------------------------------------------------------------------


def test_a_new_file_has_every_key_in_schema_order_and_generated_secrets():
    generate, calls = counting_generator()
    result = dotenv.render(dotenv.parse(""), schema(), generate=generate)
    values = dotenv.parse(result.text).values()
    assert list(values) == list(schema().variables)
    assert result.generated == [
        "JWT_SECRET",
        "RABBITMQ_PASSWORD",
        "SMTP_PASSWORD",
        "GRAFANA_PASSWORD",
    ]
    assert calls[0] == {"bytes": 64, "encoding": "base64"}
    assert values["REDIS_PASSWORD"] == ""
    assert values["AUTH_SERVICE_URL"] == "auth-service:50051"
    headers = [line for line in result.text.splitlines() if line.startswith("# ")]
    assert "# Application" in headers and headers.count("# Services") == 1
    assert sorted(result.secrets) == sorted(values[k] for k in result.generated)


def test_a_rerun_is_byte_identical_and_generates_nothing():
    generate, calls = counting_generator()
    first = dotenv.render(dotenv.parse(""), schema(), generate=generate)
    second = dotenv.render(dotenv.parse(first.text), schema(), generate=generate)
    assert second.text == first.text
    assert (second.added, second.generated, second.updated) == ([], [], [])
    assert len(calls) == 4


def test_user_values_comments_quoting_and_unknown_keys_survive():
    first = dotenv.render(dotenv.parse(""), schema()).text
    edited = first.replace("LOG_LEVEL=debug", "# quieter, please\nexport LOG_LEVEL='info'  # me")
    edited = edited.replace("MONGODB_DATABASE=go_dev", "MONGODB_DATABASE=mine")
    edited += "MY_FLAG=on\n# a note at the end\n"
    result = dotenv.render(dotenv.parse(edited), schema())
    assert "# quieter, please\nexport LOG_LEVEL='info'  # me\n" in result.text
    assert "MONGODB_DATABASE=mine\n" in result.text
    tail = f"\n{dotenv.UNKNOWN_HEADER}\nMY_FLAG=on\n# a note at the end\n"
    assert result.text.endswith(tail)
    assert result.unknown == ["MY_FLAG"] and result.generated == []
    again = dotenv.render(dotenv.parse(result.text), schema())
    assert again.text == result.text


def test_a_file_with_the_older_port_names_is_migrated_keeping_its_values():
    """Before go-shared's names, <PREFIX>_PORT was the HTTP port and <PREFIX>_GRPC_PORT the
    gRPC one: their values move to <PREFIX>_HTTP_PORT and <PREFIX>_PORT, once."""
    old = (
        "# mine\nAUTH_SERVICE_PORT=9081\nAUTH_SERVICE_GRPC_PORT=59051\n"
        "API_GATEWAY_PORT=9080\nLOG_LEVEL=info\n"
    )
    result = dotenv.render(dotenv.parse(old), schema())
    values = dotenv.parse(result.text).values()
    assert (values["AUTH_SERVICE_HTTP_PORT"], values["AUTH_SERVICE_PORT"]) == ("9081", "59051")
    assert values["API_GATEWAY_PORT"] == "9080"  # no gRPC: <PREFIX>_PORT is still HTTP
    assert "AUTH_SERVICE_GRPC_PORT" not in values and result.unknown == []
    assert "AUTH_SERVICE_PORT" in result.updated and "AUTH_SERVICE_HTTP_PORT" in result.added
    # A service the old file did not have gets its defaults; a rerun changes nothing.
    assert (values["USER_SERVICE_HTTP_PORT"], values["USER_SERVICE_PORT"]) == ("8082", "50052")
    again = dotenv.render(dotenv.parse(result.text), schema())
    assert again.text == result.text and (again.added, again.updated) == ([], [])


def test_a_service_that_lost_its_grpc_port_keeps_its_http_port_value():
    """notification-service had a gRPC port in the catalog, the real one has none: the
    value of its NOTIFICATION_SERVICE_HTTP_PORT becomes NOTIFICATION_SERVICE_PORT's (its
    HTTP port now), once, and the older key goes."""
    old = "NOTIFICATION_SERVICE_HTTP_PORT=9084\nNOTIFICATION_SERVICE_PORT=50054\n"
    result = dotenv.render(dotenv.parse(old), schema())
    values = dotenv.parse(result.text).values()
    assert values["NOTIFICATION_SERVICE_PORT"] == "9084"
    assert "NOTIFICATION_SERVICE_HTTP_PORT" not in values and result.unknown == []
    again = dotenv.render(dotenv.parse(result.text), schema())
    assert again.text == result.text and (again.added, again.updated) == ([], [])


def test_notifications_stale_grpc_url_moves_to_its_http_url_once_and_a_chosen_one_stays():
    """Before the real platform's catalog notification-service had gRPC port 50054, and its
    URL was written as that address (notification-service:50054): a file that still holds
    exactly that value gets the HTTP URL, once; any other value is the user's and stays."""
    old = "NOTIFICATION_SERVICE_PORT=8084\nNOTIFICATION_SERVICE_URL=notification-service:50054\n"
    result = dotenv.render(dotenv.parse(old), schema())
    values = dotenv.parse(result.text).values()
    assert values["NOTIFICATION_SERVICE_URL"] == "http://notification-service:8084"
    assert "NOTIFICATION_SERVICE_URL" in result.updated
    again = dotenv.render(dotenv.parse(result.text), schema())
    assert again.text == result.text and again.updated == []
    # The user's own value, and the gRPC URLs of the services that have gRPC, are kept.
    mine = (
        "NOTIFICATION_SERVICE_URL=http://mailer.internal:9000\n"
        "AUTH_SERVICE_URL=auth-service:50051\n"
    )
    kept = dotenv.parse(dotenv.render(dotenv.parse(mine), schema()).text).values()
    assert kept["NOTIFICATION_SERVICE_URL"] == "http://mailer.internal:9000"
    assert kept["AUTH_SERVICE_URL"] == "auth-service:50051"
    # Without notification in the catalog the key is the user's: nothing to migrate.
    alone = dotenv.render(dotenv.parse(old), schema(CATALOG[:1])).text
    assert "NOTIFICATION_SERVICE_URL=notification-service:50054" in alone


def test_missing_keys_are_added_and_empty_secrets_generated_but_set_ones_kept():
    text = "JWT_SECRET=\nGRAFANA_PASSWORD=mine-for-years\nOLD_SETTING=1\n"
    result = dotenv.render(dotenv.parse(text), schema())
    values = dotenv.parse(result.text).values()
    assert "JWT_SECRET" in result.generated and "GRAFANA_PASSWORD" not in result.generated
    assert values["GRAFANA_PASSWORD"] == "mine-for-years"
    assert len(base64.b64decode(values["JWT_SECRET"], validate=True)) == 64
    assert "ENVIRONMENT" in result.added and result.unknown == ["OLD_SETTING"]


def test_overrides_win_and_report_updated_only_when_the_value_changes():
    first = dotenv.render(dotenv.parse(""), schema()).text
    overrides = {"JWT_SECRET": "given-secret-value", "FEATURE_SSO": True, "EXTRA": 5}
    result = dotenv.render(dotenv.parse(first), schema(), overrides)
    values = dotenv.parse(result.text).values()
    assert values["JWT_SECRET"] == "given-secret-value"
    assert values["FEATURE_SSO"] == "true" and values["EXTRA"] == "5"
    assert result.updated == ["JWT_SECRET", "FEATURE_SSO"] and result.added == ["EXTRA"]
    assert "given-secret-value" in result.secrets
    again = dotenv.render(dotenv.parse(result.text), schema(), overrides)
    assert again.text == result.text and again.updated == [] and again.added == []


def test_generated_secrets_are_random_and_encoded_as_documented():
    jwt = dotenv.generate_secret({"bytes": 64, "encoding": "base64"})
    assert len(jwt) == 88 and len(base64.b64decode(jwt, validate=True)) == 64
    assert jwt != dotenv.generate_secret({"bytes": 64, "encoding": "base64"})
    other = dotenv.generate_secret({"bytes": 24, "encoding": "urlsafe"})
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", other)
    assert len(dotenv.generate_secret({"bytes": 32, "encoding": "hex"})) == 64


def test_masking_hides_secrets_and_url_passwords_but_not_references():
    text = "\n".join(
        [
            f"JWT_SECRET={SECRET_VALUES[0]}",
            f"export GRAFANA_PASSWORD='{SECRET_VALUES[3]}'",
            "REDIS_PASSWORD=",
            f"MY_API_TOKEN={SECRET_VALUES[1]}",
            f"MONGODB_URI=mongodb://root:{SECRET_VALUES[2]}@mongo:27017",
            "RABBITMQ_URL=amqp://${RABBITMQ_USERNAME}:${RABBITMQ_PASSWORD}@rabbitmq:5672/",
            "LOG_LEVEL=debug",
        ]
    )
    masked = dotenv.mask_text(text + "\n", schema())
    for secret in SECRET_VALUES:
        assert secret not in masked
    assert masked.splitlines() == [
        "JWT_SECRET=********",
        "export GRAFANA_PASSWORD=********",
        "REDIS_PASSWORD=",
        "MY_API_TOKEN=********",
        "MONGODB_URI=mongodb://root:********@mongo:27017",
        "RABBITMQ_URL=amqp://${RABBITMQ_USERNAME}:${RABBITMQ_PASSWORD}@rabbitmq:5672/",
        "LOG_LEVEL=debug",
    ]


# --- the module's documentation -------------------------------------------------------------


def test_the_modules_documentation_says_exactly_what_its_argument_spec_accepts():
    import importlib

    module = importlib.import_module(
        "ansible_collections.vhvcorp.devtools.plugins.modules.workspace_env"
    )
    # Options against the spec: tests/unit/test_module_docs.py.
    doc = yaml.safe_load(module.DOCUMENTATION)
    spec = module.argument_spec()
    assert spec["overrides"]["no_log"] is True
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert doc["attributes"]["diff_mode"]["support"] == "full"
    examples = yaml.safe_load(module.EXAMPLES)
    assert any("ansible.builtin.assert" in task for task in examples)
    returned = yaml.safe_load(module.RETURN)
    assert set(returned) == {
        "env_file",
        "added",
        "generated",
        "updated",
        "unknown",
        "mode_fixed",
        "host_env_file",
    }
    for key, value in returned.items():
        assert value.get("description") and value.get("type") and "sample" in value, key
