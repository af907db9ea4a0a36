"""test-platform.yml through its make targets (go-devtools' run-unit-tests.sh): each service
clone's `go test ./...`, reported per service (passed, failed, no clone, seconds), the run
failing when one failed. The clones are the stand-in's, in a workspace of the test's own:
user-service with a passing test, auth-service with a failing one (both against the demo
library resolved through the go.work its build gets), tenant-service not cloned. Nothing is
started (the integration and e2e suites need the stack: tests/e2e/test_platform_verbs.py)."""

import json

import pytest

pytestmark = pytest.mark.integration

PASSING = {
    "internal/config/passing_test.go": (
        "package config\n\n"
        'import "testing"\n\n'
        "func TestPortsParse(t *testing.T) {\n"
        '\tif _, err := FromEnv(func(string) (string, bool) { return "", false }); err == nil {\n'
        '\t\tt.Log("defaults accepted")\n'
        "\t}\n"
        "}\n"
    )
}
FAILING = {
    # auth's Go module is in server/ (the catalog's module_dir): paths are from the clone's root.
    "server/internal/server/failing_test.go": (
        "package server\n\n"
        'import "testing"\n\n'
        'func TestDeliberatelyBroken(t *testing.T) { t.Fatal("a deliberate failure") }\n'
    )
}


@pytest.fixture(scope="module")
def args(standin_fixtures, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("platform-tests")
    workspace = standin_fixtures.clone_workspace(
        root, ["user-service", "auth-service"], {"user-service": PASSING, "auth-service": FAILING}
    )
    (workspace / ".env").write_text("LOG_LEVEL=info\n")
    extra = root / "vars.json"
    extra.write_text(
        json.dumps(
            {
                "workspace": str(workspace),
                "devtools_libraries": [standin_fixtures.DEMO_LIBRARY],
                "devtools_stack_services": ["user-service", "auth-service", "tenant-service"],
                "devtools_stack_profile": "custom",
                "devtools_stack_custom_components": [],
            }
        )
    )
    return {"ARGS": f"-e @{extra}"}


def rows(stdout: str) -> dict:
    """{service: row text} of the table the run printed."""
    table = stdout[stdout.index("SERVICE") :].split("\n\n")[0]
    return {line.split()[0]: line for line in table.splitlines()[1:] if line.strip()}


def test_unit_tests_report_each_service_and_fail_naming_the_failed_one(make, args):
    run = make("test-platform-unit", **args)
    assert run.returncode != 0
    table = rows(run.stdout)
    assert table["user-service"].split()[1] == "passed"
    assert "1 ok, 0 failed" in table["user-service"]
    assert table["auth-service"].split()[1] == "failed"
    assert "0 ok, 1 failed" in table["auth-service"]
    assert "tenant-service  no clone" in table["tenant-service"]
    said = " ".join(run.stdout.split())
    assert "a deliberate failure" in said and "TestDeliberatelyBroken" in said


def test_unit_tests_of_one_service_that_passes_exit_zero(make, args):
    run = make("test-platform-unit", SERVICE="user-service", **args)
    assert run.returncode == 0, run.stdout[-3000:]
    assert list(rows(run.stdout)) == ["user-service"]
