"""Pure logic of service_health (plugins/module_utils/service_health.py) and its docs."""

import importlib

import pytest
import yaml
from ansible_collections.vhvcorp.devtools.plugins.filter.catalog import stack_table
from ansible_collections.vhvcorp.devtools.plugins.module_utils import service_health as sh
from ansible_collections.vhvcorp.devtools.plugins.module_utils.service_health import EndpointError


def test_url_passwords_are_masked_and_other_urls_untouched():
    assert sh.redact_url("http://ops:s3cret@127.0.0.1:8080/health") == (
        "http://ops:********@127.0.0.1:8080/health"
    )
    assert sh.redact_url("http://127.0.0.1:8080/health?x=1") == "http://127.0.0.1:8080/health?x=1"
    assert sh.url_password("https://a:b%40c@host/") == "b%40c"
    assert sh.url_password("https://host/") is None


def test_endpoints_take_module_defaults_and_keep_their_own():
    endpoints = sh.make_endpoints(
        [
            {"name": "api", "url": "http://127.0.0.1:8080/health", "timeout": None},
            {"name": "db", "kind": "tcp", "port": 27017, "interval": 1.0},
            {"name": "auth", "kind": "grpc", "host": "::1", "port": 50051},
        ],
        timeout=3.0,
        interval=0.5,
    )
    assert [(e.timeout, e.interval) for e in endpoints] == [(3.0, 0.5), (3.0, 1.0), (3.0, 0.5)]
    assert [e.target for e in endpoints] == [
        "http://127.0.0.1:8080/health",
        "127.0.0.1:27017",
        "[::1]:50051",
    ]


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"name": "a", "kind": "http", "url": "127.0.0.1:80"}, "url '127.0.0.1:80' is not an http"),
        ({"name": "a", "kind": "tcp"}, "port None is not a port from 1 to 65535"),
        ({"name": "a", "kind": "grpc", "port": 70000}, "port 70000 is not a port"),
        (
            {"name": "a", "kind": "tcp", "port": 1, "url": "http://x/"},
            "takes host and port, not url",
        ),
        ({"name": "a", "kind": "ftp", "port": 1}, "kind 'ftp' is not one of http, tcp, grpc"),
        ({"name": "a", "url": "http://x/", "body_regex": "("}, "body_regex '(' is not a regular"),
        ({"name": "a", "url": "http://x/", "status_codes": [42]}, "status code 42 is not"),
        ({"name": "a", "kind": "tcp", "port": 1, "timeout": 0}, "must be more than 0 seconds"),
        ({"name": "", "kind": "tcp", "port": 1}, "endpoints[0] has no name"),
    ],
)
def test_bad_endpoints_are_named_and_quoted(spec, message):
    with pytest.raises(EndpointError) as info:
        sh.make_endpoints([spec])
    assert message in str(info.value)


def test_duplicate_names_are_refused():
    with pytest.raises(
        EndpointError, match="endpoints\\[1\\] \\(db\\): the name 'db' is used twice"
    ):
        sh.make_endpoints([{"name": "db", "kind": "tcp", "port": 1}] * 2)


def test_a_password_in_a_bad_url_is_not_quoted():
    with pytest.raises(EndpointError) as info:
        sh.make_endpoints([{"name": "a", "url": "ftp://u:hunter2@h/"}])
    assert "hunter2" not in str(info.value)


def test_grpc_health_messages_encode_and_decode():
    assert sh.grpc_request("") == b""
    assert sh.grpc_request("auth.v1.AuthService") == b"\x0a\x13auth.v1.AuthService"
    assert sh.grpc_request("x" * 200)[:3] == b"\x0a\xc8\x01"
    assert sh.grpc_status(b"\x08\x01") == "SERVING"
    assert sh.grpc_status(b"\x08\x02") == "NOT_SERVING"
    assert sh.grpc_status(b"") == "UNKNOWN"  # proto3: a default enum is not written
    assert sh.grpc_status(b"\x12\x02hi\x08\x03") == "SERVICE_UNKNOWN"  # unknown fields skipped
    with pytest.raises(ValueError):
        sh.grpc_status(b"\x08")


def test_failure_message_names_each_unhealthy_endpoint_with_its_error():
    outcome = {
        "results": [
            {
                "name": "ok",
                "kind": "tcp",
                "target": "127.0.0.1:1",
                "healthy": True,
                "last_error": None,
            },
            {
                "name": "auth-service",
                "kind": "http",
                "target": "http://127.0.0.1:8081/health",
                "healthy": False,
                "last_error": "HTTP 500, expected 200",
            },
            {
                "name": "redis",
                "kind": "tcp",
                "target": "127.0.0.1:6379",
                "healthy": False,
                "last_error": None,
            },
        ]
    }
    assert sh.failure_message(outcome, 30) == (
        "2 of 3 endpoints not healthy after 30s (deadline): auth-service (http "
        "http://127.0.0.1:8081/health: HTTP 500, expected 200); redis (tcp 127.0.0.1:6379: "
        "no answer)."
    )
    assert "at the first probe" in sh.failure_message(outcome, 30, once=True)


def result(name, healthy, **values):
    checked = sh.Result(name, "http", "http://127.0.0.1/health", healthy=healthy)
    return dict(checked.as_dict(), **values)


def test_the_health_table_shows_figures_and_failures_in_aligned_columns():
    rows = sh.table_rows(
        [
            result("mongodb", True, latency_ms=0.41, healthy_after_s=0.012),
            result("auth-service", True, latency_ms=13.05, healthy_after_s=1.5),
            result("auth-service grpc", True, latency_ms=2.0, healthy_after_s=1.25, note="tcp"),
            result("tenant-service", False, latency_ms=3.0, last_error="HTTP 503, expected 200"),
            result("jaeger", False),
        ]
    )
    assert rows[0] == {
        "endpoint": "mongodb",
        "state": "healthy",
        "latency": "0.4 ms",
        "healthy_after": "0.01 s",
    }
    assert rows[3] == {
        "endpoint": "tenant-service",
        "state": "unhealthy: HTTP 503, expected 200",
        "latency": "3.0 ms",
        "healthy_after": "-",
    }
    columns = ["endpoint", "state", "latency", "healthy_after"]
    table = stack_table(rows, columns, right=["latency", "healthy_after"]).splitlines()
    # The figures are aligned to the right, so their units line up under the header's end.
    assert table == [
        "ENDPOINT           STATE                              LATENCY  HEALTHY AFTER",
        "mongodb            healthy                             0.4 ms         0.01 s",
        "auth-service       healthy                            13.1 ms         1.50 s",
        "auth-service grpc  healthy (TCP only: no grpcio)       2.0 ms         1.25 s",
        "tenant-service     unhealthy: HTTP 503, expected 200   3.0 ms              -",
        "jaeger             unhealthy: no answer                     -              -",
    ]
    # status.yml's table, through the same function, is unchanged: left-aligned, no figures.
    assert stack_table([{"service": "redis", "state": "running"}], ["service", "state"]) == (
        "SERVICE  STATE\nredis    running"
    )


def test_a_long_error_is_cut_in_the_table_but_not_in_the_message():
    long_error = "HTTP 503 but the body " + "x" * 80 + " does not match /ok/"
    (row,) = sh.table_rows([result("auth-service", False, last_error=long_error)])
    assert row["state"] == "unhealthy: " + long_error[:45] + "..."
    outcome = {"results": [result("auth-service", False, last_error=long_error)]}
    assert long_error in sh.failure_message(outcome, 30)


def test_module_documents_what_it_returns():
    module = importlib.import_module(
        "ansible_collections.vhvcorp.devtools.plugins.modules.service_health"
    )
    # Options and suboptions against the spec: tests/unit/test_module_docs.py.
    returned = yaml.safe_load(module.RETURN)
    assert set(returned["endpoints"]["contains"]) == set(sh.Result("n", "tcp", "t").as_dict())
    assert set(returned) == {"healthy", "unhealthy", "elapsed_s", "endpoints", "rows"}
    row = sh.table_rows([sh.Result("n", "tcp", "t").as_dict()])[0]
    assert set(returned["rows"]["contains"]) == set(row)
    assert yaml.safe_load(module.EXAMPLES)
