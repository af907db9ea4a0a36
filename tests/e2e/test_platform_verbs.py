"""The platform verbs that need the stack, through their playbooks: test-platform.yml's
integration and e2e suites against the stack brought up with the compose test overlay,
test-api.yml against the stand-in, and a service made by create-service.yml brought up by
the next start.yml.

One stand-in service (user-service, its clone made from a stand-in bare repository) on
MongoDB (FerretDB) and Redis, project vhvcorp-verbstest, host ports offset by 3000, a
workspace and a config.yml (DEVTOOLS_CONFIG) of the test's own. The clone carries a
`//go:build integration` test (an HTTP GET of the service's /health at STACK_USER_SERVICE_URL
and a TCP dial of MONGODB_URI's host, both as go_test passes them) and an `e2e` one (the
service's / names it). Only 127.0.0.1 and the containers it started are contacted. Run under
`flock /tmp/devtools-stack.lock`.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = "vhvcorp-verbstest"
OFFSET = 3000
SERVICE = "user-service"
REPOSITORY = "go-user-service"
NEW_SERVICE = "billing-service"

STACKTEST = {
    # A package of its own, valid without tags (doc.go) so that `go test ./...` sees it.
    "stacktest/doc.go": (
        "// Package stacktest holds the tests run against the stack.\npackage stacktest\n"
    ),
    "stacktest/integration_test.go": """//go:build integration

package stacktest

import (
	"net"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"
)

func TestTheStackAnswers(t *testing.T) {
	base := os.Getenv("STACK_USER_SERVICE_URL")
	if base == "" {
		t.Fatal("STACK_USER_SERVICE_URL is not set: run it with make test-platform-integration")
	}
	answer, err := http.Get(base + "/health")
	if err != nil {
		t.Fatalf("GET %s/health: %v", base, err)
	}
	answer.Body.Close()
	if answer.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/health: HTTP %d", base, answer.StatusCode)
	}
	mongo, err := url.Parse(os.Getenv("MONGODB_URI"))
	if err != nil || mongo.Host == "" {
		t.Fatalf("MONGODB_URI %q is no URL: %v", os.Getenv("MONGODB_URI"), err)
	}
	conn, err := net.DialTimeout("tcp", mongo.Host, 5*time.Second)
	if err != nil {
		t.Fatalf("dial MongoDB at %s: %v", mongo.Host, err)
	}
	conn.Close()
	t.Logf("%s/health answered 200; MongoDB at %s accepted a connection", base, mongo.Host)
}
""",
    "stacktest/e2e_test.go": """//go:build e2e

package stacktest

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"
)

func TestTheServiceNamesItself(t *testing.T) {
	base := os.Getenv("STACK_USER_SERVICE_URL")
	answer, err := http.Get(base + "/")
	if err != nil {
		t.Fatalf("GET %s/: %v", base, err)
	}
	defer answer.Body.Close()
	var body struct{ Service string }
	err = json.NewDecoder(answer.Body).Decode(&body)
	if err != nil || body.Service != "user-service" {
		t.Fatalf("GET %s/ gave service %q (%v), not user-service", base, body.Service, err)
	}
}
""",
}
# Added to the clone for one run: the stand-in has no /api/v1 routes, so this fails for real.
FAILING = """//go:build integration

package stacktest

import (
	"net/http"
	"os"
	"testing"
)

func TestTheUsersRouteAnswers(t *testing.T) {
	answer, err := http.Get(os.Getenv("STACK_USER_SERVICE_URL") + "/api/v1/users/me")
	if err != nil {
		t.Fatal(err)
	}
	answer.Body.Close()
	if answer.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /api/v1/users/me without a token: HTTP %d, want 401", answer.StatusCode)
	}
}
"""


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "tests" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table(stdout: str) -> dict:
    """{service: row words} of go_test's table (the last one printed)."""
    text = stdout[stdout.rindex("SERVICE ") :]
    return {
        line.split()[0]: line.split()
        for line in text.splitlines()[1:]
        if line.strip()
        and not line.startswith(("TASK", "["))
        and line.split()[0] in (SERVICE, NEW_SERVICE)
    }


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - 127.0.0.1 only
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@pytest.fixture(scope="module")
def stack(playbook, make_workspace, tmp_path_factory, remove_compose_project):
    root = tmp_path_factory.mktemp("verbs")
    fixtures = _load("standin_fixtures")
    workspace = fixtures.clone_workspace(root, [SERVICE], {SERVICE: STACKTEST})
    make_workspace(workspace)
    config = root / "config.yml"
    config.write_text("# the test's own config.yml\n")
    extra = root / "vars.json"
    extra.write_text(
        json.dumps(
            {
                "workspace": str(workspace),
                "image_source": "local",
                "profile": "custom",
                "services": [SERVICE],
                "devtools_stack_custom_components": ["mongodb", "redis"],
                "devtools_libraries": [fixtures.DEMO_LIBRARY],
                "devtools_stack_generate": False,
                "devtools_stack_project": PROJECT,
                "devtools_stack_port_offset": OFFSET,
            }
        )
    )

    def run(name, *args, **options):
        started = time.monotonic()
        result = playbook(name, "-e", f"@{extra}", *args, env={"DEVTOOLS_CONFIG": str(config)},
                          timeout=None, **options)  # fmt: skip
        print(
            f"{name} {' '.join(args)}: {time.monotonic() - started:.1f} s, rc {result.returncode}"
        )
        return result

    try:
        yield {"run": run, "workspace": workspace, "config": config, "extra": extra}
    finally:
        remove_compose_project(PROJECT)


def test_the_integration_and_e2e_suites_run_against_the_test_stack(stack):
    run = stack["run"]("test-platform.yml", "-e", "suite=integration", "-e", "keep_stack=true")
    assert run.returncode == 0, run.stdout[-5000:]
    row = table(run.stdout)[SERVICE]
    print(" ".join(row))
    assert row[1] == "passed" and " ".join(row[3:]).startswith("1 ok, 0 failed"), row
    # The test overlay was in the stack's compose files.
    assert "compose.test.yml" in json.dumps(
        subprocess.run(
            ["docker", "compose", "ls", "--all", "--format", "json"],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    run = stack["run"]("test-platform.yml", "-e", "suite=e2e", "-e", "keep_stack=true")
    assert run.returncode == 0, run.stdout[-5000:]
    row = table(run.stdout)[SERVICE]
    assert row[1] == "passed" and " ".join(row[3:]).startswith("1 ok, 0 failed"), row


def test_a_failing_tagged_test_fails_the_playbook_naming_the_service(stack):
    failing = stack["workspace"] / REPOSITORY / "stacktest" / "failing_integration_test.go"
    failing.write_text(FAILING)
    try:
        run = stack["run"]("test-platform.yml", "-e", "suite=integration", "-e", "keep_stack=true")
    finally:
        failing.unlink()
    assert run.returncode != 0
    assert table(run.stdout)[SERVICE][1] == "failed", run.stdout[-3000:]
    said = " ".join(run.stdout.split())
    assert SERVICE in said[said.index("Fail naming the services") :]
    assert "TestTheUsersRouteAnswers" in said and "HTTP 404, want 401" in said


def test_test_api_against_the_stand_in_shows_the_real_failures(stack):
    base = f"http://127.0.0.1:{8082 + OFFSET}"
    run = stack["run"]("test-api.yml", "-e", f"api_base={base}")
    assert run.returncode == 2, run.stdout[-3000:]
    row = re.compile(
        r"^\s*(health|api version|register|login|users/me) \(.*?\)\s+(\S+)\s+\S+\s+(.*)$"
    )
    rows = {m.group(1): m.group(2, 3) for m in map(row.match, run.stdout.splitlines()) if m}
    print("\n".join(line for line in run.stdout.splitlines() if row.match(line)))
    assert rows["health"] == ("200", "ok"), rows
    assert all(rows[c] == ("404", "FAIL: HTTP 404") for c in ("api version", "register", "login"))
    assert rows["users/me"] == ("-", "FAIL: not sent: the login gave no token")
    assert "failed api version, register, login, users/me" in " ".join(run.stdout.split())


def test_a_created_service_is_brought_up_by_the_next_start(stack, playbook):
    made = playbook("create-service.yml", "-e", f"name={NEW_SERVICE}",
                    "-e", f"workspace={stack['workspace']}",
                    env={"DEVTOOLS_CONFIG": str(stack["config"])})  # fmt: skip
    assert made.returncode == 0, made.stdout[-3000:]
    entry = yaml.safe_load(stack["config"].read_text())["devtools_services"][-1]
    assert entry["name"] == NEW_SERVICE
    url = f"http://127.0.0.1:{entry['http_port'] + OFFSET}/health"
    try:
        up = stack["run"]("start.yml", "-e", json.dumps({"services": [SERVICE, NEW_SERVICE]}))
        assert up.returncode == 0, up.stdout[-5000:]
        assert http_status(url) == 200
        health = subprocess.run(
            ["docker", "inspect", "-f", "{{.State.Health.Status}}", f"{PROJECT}-{NEW_SERVICE}"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        assert health == "healthy"
    finally:
        # create-service has no delete: the test removes its repository and catalog entry.
        shutil.rmtree(stack["workspace"] / f"go-{NEW_SERVICE}", ignore_errors=True)
        stack["config"].write_text("# the test's own config.yml\n")
