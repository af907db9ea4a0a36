"""Each service on its own (plugins/module_utils/_service_outcomes.py, through the filters of
plugins/filter/catalog.py): which services run, the demo fallback rule, the final table."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.vhvcorp.devtools.plugins.filter import catalog as c

WORKSPACE = "/home/dev/workspace/go-platform"
NAMES = ["api-gateway", "auth-service", "user-service"]
COMPILER = (
    "# github.com/vhvcorp/demo-service/internal/server\n"
    'internal/server/broken.go:9:16: cannot use "text" (untyped string constant) as int value\n'
    "internal/server/broken.go:12:2: undefined: nope\n"
    "internal/server/broken.go:13:2: undefined: nope2\n"
)


def services(*names):
    return [
        {
            "name": n,
            "repository": f"go-{n}",
            "build": {"source_dir": f"{WORKSPACE}/go-{n}", "package": "./cmd", "binary": "server"},
        }
        for n in names or NAMES
    ]


def builds(missing=(), errors=None):
    errors = errors or {}
    results = []
    for n in NAMES:
        if n in missing:
            continue
        for name in (n, f"{n} healthprobe"):
            result = {"name": name, "sha1": "0" * 40, "changed": False}
            if name in errors:
                result.update(sha1=None, error=errors[name], msg=f"`go build` of {name} failed")
            results.append(result)
    return {"results": results, "missing": list(missing)}


def states(outcome_rows):
    return {r["service"]: r["state"] for r in outcome_rows}


# --- which services run ----------------------------------------------------------------------


def test_every_service_that_builds_runs_and_the_others_are_named_with_their_reason():
    clones = [
        {"name": "go-api-gateway", "status": "unchanged", "msg": "Up to date."},
        {
            "name": "go-auth-service",
            "status": "failed",
            "msg": "Cloning failed: fatal: repository 'file:///srv/git/go-auth-service.git' "
            "does not exist. Check the URL and your access.",
        },
        {"name": "go-user-service", "status": "cloned", "msg": "Cloned main."},
    ]
    out = c.stack_service_outcomes(
        services(),
        builds(missing=["auth-service"], errors={"user-service": COMPILER}),
        clones,
    )
    assert out["running"] == ["api-gateway"]
    assert out["failed"] == ["auth-service", "user-service"]
    rows = {r["service"]: r for r in out["rows"]}
    assert rows["api-gateway"] == {"service": "api-gateway", "state": "running", "reason": ""}
    assert rows["auth-service"]["state"] == "not cloned"
    assert "go-auth-service.git' does not exist" in rows["auth-service"]["reason"]
    assert rows["user-service"]["state"] == "build failed"
    # The compiler's first lines, no more than three.
    assert rows["user-service"]["reason"] == "\n".join(COMPILER.splitlines()[:3])


def test_a_missing_clone_without_a_clone_step_says_where_and_what_to_do():
    out = c.stack_service_outcomes(services(), builds(missing=["user-service"]))
    reason = {r["service"]: r["reason"] for r in out["rows"]}["user-service"]
    assert reason == (
        f"no Go module (go.mod) in {WORKSPACE}/go-user-service: clone it "
        "(ansible-playbook setup.yml --tags repos)"
    )


def test_a_health_probe_that_does_not_build_fails_its_service():
    out = c.stack_service_outcomes(
        services(), builds(errors={"auth-service healthprobe": "# probe\nprobe.go:1:1: bad"})
    )
    assert states(out["rows"])["auth-service"] == "build failed"
    assert out["failed"] == ["auth-service"]


def test_registry_images_are_not_built_so_every_service_runs():
    out = c.stack_service_outcomes(services(), None)
    assert out["running"] == NAMES and out["failed"] == []


def test_demo_services_say_so():
    out = c.stack_service_outcomes(services(), builds(), None, True)
    assert set(states(out["rows"]).values()) == {"demo"}
    assert out["running"] == NAMES
    assert all("demo service stands in" in r["reason"] for r in out["rows"])


# --- the demo fallback rule ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "strict", "missing", "expected"),
    [
        ("auto", False, NAMES, True),  # not one clone: the demo stands in
        ("auto", False, NAMES[1:], False),  # one clone is there: each service on its own
        ("auto", False, [], False),
        ("auto", True, NAMES, False),  # strict never falls back (it fails instead)
        ("git", False, NAMES, False),  # git never falls back
        ("demo", False, [], True),  # demo forces it, clones or not
        ("demo", True, [], True),
    ],
)
def test_the_demo_stands_in_only_when_not_one_service_has_a_clone(
    source, strict, missing, expected
):
    assert c.stack_use_demo(source, strict, NAMES, missing) is expected


def test_no_service_selected_is_no_reason_for_the_demo():
    assert c.stack_use_demo("auto", False, [], []) is False


def test_an_unknown_service_source_is_refused_with_the_choices():
    with pytest.raises(
        AnsibleFilterError, match=r"devtools_service_source is 'local'; .*auto, demo, git"
    ):
        c.stack_use_demo("local", False, NAMES, NAMES)


# --- the final table -------------------------------------------------------------------------


def health(**unhealthy):
    """service_health results for every endpoint of NAMES, those named unhealthy."""
    results = []
    for n in NAMES:
        for name in (n, f"{n} grpc"):
            error = unhealthy.get(name.replace(" ", "_").replace("-", "_"))
            results.append({"name": name, "healthy": error is None, "last_error": error})
    return results


def test_health_results_make_running_services_healthy_or_unhealthy_with_the_endpoint_error():
    out = c.stack_service_outcomes(services(), builds(errors={"api-gateway": COMPILER}))
    rows = c.stack_service_report(out, health(user_service_grpc="NOT_SERVING"))
    assert [(r["service"], r["state"], r["reason"]) for r in rows] == [
        ("api-gateway", "build failed", "\n".join(COMPILER.splitlines()[:3])),
        ("auth-service", "healthy", ""),
        ("user-service", "unhealthy", "user-service grpc: NOT_SERVING"),
    ]


def test_a_service_not_probed_stays_running():
    out = c.stack_service_outcomes(services(), builds())
    rows = c.stack_service_report(
        out, [r for r in health() if not r["name"].startswith("api-gateway")]
    )
    assert states(rows) == {
        "api-gateway": "running",
        "auth-service": "healthy",
        "user-service": "healthy",
    }


def test_after_up_wait_the_running_services_are_healthy_unless_compose_listed_them_not():
    out = c.stack_service_outcomes(services(), builds())
    assert set(states(c.stack_service_report(out)).values()) == {"healthy"}
    status = [
        {"service": "api-gateway", "state": "running", "health": "healthy"},
        {"service": "auth-service", "state": "running", "health": "unhealthy"},
    ]
    rows = {r["service"]: r for r in c.stack_service_report(out, None, status)}
    assert rows["api-gateway"]["state"] == "healthy"
    assert rows["auth-service"]["state"] == "unhealthy"
    assert rows["auth-service"]["reason"] == (
        "container running, health unhealthy; "
        "see `ansible-playbook logs.yml -e service=auth-service`"
    )
    assert rows["user-service"]["state"] == "unhealthy"
    assert rows["user-service"]["reason"].startswith("no container;")


def test_demo_services_stay_demo_while_healthy():
    out = c.stack_service_outcomes(services(), builds(), None, True)
    rows = c.stack_service_report(out, health(auth_service="503 Service Unavailable"))
    assert states(rows) == {
        "api-gateway": "demo",
        "auth-service": "unhealthy",
        "user-service": "demo",
    }


def test_the_table_spreads_a_reason_over_lines_under_its_column():
    out = c.stack_service_outcomes(services(), builds(errors={"auth-service": COMPILER}))
    rows = c.stack_service_report(out, health())
    table = c.stack_table(c.stack_report_table_rows(rows), ["service", "state", "reason"])
    first, second, third = COMPILER.splitlines()[:3]
    column = " " * len("auth-service  build failed  ")
    assert table.splitlines() == [
        "SERVICE       STATE         REASON",
        "api-gateway   healthy",
        "auth-service  build failed  " + first,
        column + second,
        column + third,
        "user-service  healthy",
    ]


def test_the_failure_names_each_service_that_did_not_come_up_and_none_when_all_did():
    out = c.stack_service_outcomes(
        services(), builds(missing=["api-gateway"], errors={"user-service": COMPILER})
    )
    message = c.stack_report_failure(c.stack_service_report(out, health()))
    assert message.startswith(
        "2 of 3 services did not come up: api-gateway (not cloned), user-service (build failed);"
    )
    assert "-e strict=true" in message
    ok = c.stack_service_outcomes(services(), builds(), None, True)
    assert c.stack_report_failure(c.stack_service_report(ok, health())) == ""
