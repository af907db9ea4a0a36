"""setup.yml on this machine: from nothing to a healthy stack, then the daily playbooks.

setup.yml installs the workstation, clones the six services, writes the workspace, builds
their images and brings the stack up (local images: FerretDB as mongodb, Redis, RabbitMQ and
Prometheus from Debian packages; the custom profile, so that Prometheus scrapes the
services), seeds MongoDB and ends with service_health and its table. The tests below run in
order on that one stack and clean it away at the end.

The service repositories come from local bare repositories (the stand-in service, one per
catalog entry) instead of GitHub, which this machine cannot reach; the workspace is a
temporary directory; one small Go tool and kubectl only (tests/standin_fixtures.py's
setup_vars says why; benchmarks/setup_rerun.py runs setup.yml with the same vars).
"""

import json
import os
import re
import stat
import subprocess
import time
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path

import docker
import pymongo
import pytest
import standin_fixtures  # tests/: pythonpath
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CATALOG = yaml.safe_load((REPO_ROOT / "group_vars/all/services.yml").read_text())[
    "devtools_services"
]
SERVICES = [s["name"] for s in CATALOG]
# The stand-in's repositories, named and laid out as the real platform's (go-<name>; auth's
# module in server/, tenant's main in cmd/tenant), and the demo library beside them.
REPOSITORIES = [s["repository"] for s in CATALOG]
PROJECT = "vhvcorp"
MONGODB_URI = "mongodb://127.0.0.1:27017/"
PROMETHEUS_API = "http://127.0.0.1:9090/api/v1"
HEALTH_TASK = "Check every service's health endpoints and every component's port."
TABLE_TASK = (
    "Print each endpoint's state, latency and time to healthy"
    " (endpoint, state, latency, healthy after)."
)


@pytest.fixture(scope="module")
def setup_vars(tmp_path_factory) -> dict:
    return {
        **standin_fixtures.setup_vars(tmp_path_factory.mktemp("e2e"), REPOSITORIES),
        # mongodb, redis, rabbitmq and prometheus (group_vars/all/stack.yml), and the services.
        "devtools_stack_profile": "custom",
    }


@pytest.fixture(scope="module")
def run_setup(ansible):
    """Runs a playbook with the setup vars, as JSON; returns its report and its seconds."""

    def run(
        setup_vars: dict, *extra: str, env: dict | None = None, cwd=REPO_ROOT, expect_failure=False
    ):
        started = time.monotonic()
        result = ansible(
            "ansible-playbook",
            *extra,
            *("-e", json.dumps(setup_vars)),
            cwd=cwd,
            env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", **(env or {})},
            # A first setup.yml builds everything: no limit but the suite's.
            timeout=None,
        )
        if expect_failure:
            assert result.returncode != 0, result.stdout[-3000:]
        else:
            assert result.returncode == 0, result.stdout[-6000:] + result.stderr
        # The JSON report, then perhaps the playbook's result line (db-backup.yml's archive).
        report, _ = json.JSONDecoder().raw_decode(result.stdout)
        return report, time.monotonic() - started

    return run


def task_result(report: dict, name: str) -> tuple[dict, dict]:
    """The last task called `name` (role prefix aside): (its duration, its result)."""
    tasks = [task for play in report["plays"] for task in play["tasks"]]
    found = [
        (task["task"]["duration"], task["hosts"]["localhost"])
        for task in tasks
        if task["task"]["name"].split(" : ")[-1] == name and "localhost" in task["hosts"]
    ]
    assert found, (name, [t["task"]["name"] for t in tasks][-60:])
    return found[-1]


def seconds_between(start: str, end: str) -> float:
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
    return (datetime.strptime(end, fmt) - datetime.strptime(start, fmt)).total_seconds()


def health_table(report: dict) -> list:
    """The table that ends setup.yml and check-health.yml, checked against the figures
    service_health measured: a header, one aligned line per endpoint, a summary line."""
    _, health = task_result(report, HEALTH_TASK)
    _, printed = task_result(report, TABLE_TASK)
    lines = printed["msg"].splitlines()
    assert lines[0].split() == ["ENDPOINT", "STATE", "LATENCY", "HEALTHY", "AFTER"], lines
    assert len(lines) == len(health["endpoints"]) + 2, lines
    for line, endpoint in zip(lines[1:-1], health["endpoints"], strict=True):
        assert len(line) == len(lines[0]), lines  # the figures end under the header's end
        state = "healthy" if endpoint["healthy"] else f"unhealthy: {endpoint['last_error']}"
        after = endpoint["healthy_after_s"]
        assert re.split(r"\s{2,}", line) == [
            endpoint["name"],
            state if len(state) <= 59 else state[:56] + "...",
            f"{endpoint['latency_ms']:.1f} ms",
            "-" if after is None else f"{after:.2f} s",
        ], (line, endpoint)
    healthy = sum(e["healthy"] for e in health["endpoints"])
    assert lines[-1] == (
        f"{healthy} of {len(health['endpoints'])} endpoints healthy within {health['elapsed_s']} s."
    )
    return lines


def prometheus(path: str, **params) -> dict:
    url = f"{PROMETHEUS_API}/{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - 127.0.0.1 only
        reply = json.load(answer)
    assert reply["status"] == "success", reply
    return reply["data"]


def users_count() -> int:
    with pymongo.MongoClient(MONGODB_URI, serverSelectionTimeoutMS=5000) as client:
        return client["go_dev"]["users"].count_documents({})


def project_leftovers() -> dict:
    engine = docker.from_env()
    label = f"com.docker.compose.project={PROJECT}"
    return {
        "containers": [c.name for c in engine.containers.list(all=True, filters={"label": label})],
        "networks": [n.name for n in engine.networks.list(filters={"label": label})],
        "volumes": [v.name for v in engine.volumes.list(filters={"label": label})],
    }


def changed_tasks(report: dict) -> list:
    return [
        task["task"]["name"]
        for play in report["plays"]
        for task in play["tasks"]
        if any(host.get("changed") for host in task["hosts"].values())
    ]


def test_setup_runs_to_the_end_and_reruns_quickly_with_no_change(run_setup, setup_vars):
    first, first_seconds = run_setup(setup_vars, "setup.yml")
    assert first["stats"]["localhost"]["failures"] == 0
    up, _ = task_result(first, "Bring the stack up with Compose (docker compose up --wait).")
    checked, health = task_result(first, HEALTH_TASK)
    assert health["healthy"] is True, health["unhealthy"]
    names = {e["name"] for e in health["endpoints"]}
    assert {"mongodb", "redis", "rabbitmq", "prometheus", *SERVICES} <= names
    print("\n".join(health_table(first)))
    last_healthy = max(e["healthy_after_s"] for e in health["endpoints"])
    print(
        f"setup.yml: stack up to all-healthy {seconds_between(up['start'], checked['end']):.1f} s;"
        f" service_health returned {health['elapsed_s'] - last_healthy:.2f} s after the last"
        " endpoint turned healthy"
    )
    assert users_count() > 0

    second, second_seconds = run_setup(setup_vars, "setup.yml")
    assert second["stats"]["localhost"]["changed"] == 0, changed_tasks(second)
    print(f"setup.yml: first run {first_seconds:.1f} s, second run {second_seconds:.1f} s")
    assert second_seconds < 180, f"a rerun with nothing to do took {second_seconds:.1f} s"

    workspace = Path(setup_vars["workspace"])
    for service in CATALOG:
        clone = workspace / service["repository"]
        assert (clone / ".git").is_dir(), service
        module = clone / service["build"].get("module_dir", ".")
        assert (module / service["build"]["package"] / "main.go").is_file(), service
        # Built through its own go.work: the library is the workspace's clone, whatever the
        # replace in its go.mod says (../../demo-shared).
        workfile = workspace / "deploy/build" / service["name"] / "go.work"
        assert f"demo-shared => {workspace}/demo-shared\n" in workfile.read_text(), service
    assert (workspace / "demo-shared/.git").is_dir()
    env_file = workspace / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    secret = next(
        line.split("=", 1)[1]
        for line in env_file.read_text().splitlines()
        if line.startswith("JWT_SECRET=")
    )
    assert len(secret) >= 64
    for report in (first, second):
        assert secret not in json.dumps(report)

    gobin = Path(os.environ.get("GOBIN") or Path.home() / "go" / "bin")
    assert subprocess.run([str(gobin / "envsubst"), "-help"], capture_output=True).returncode in (
        0,
        2,
    )

    engine = docker.from_env()
    assert engine.ping()
    tags = {tag for image in engine.images.list() for tag in image.tags}
    assert "vhvcorp-local/ferretdb:1.24" in tags
    assert "vhvcorp-local/redis:7.0" in tags

    # Each service is healthy by the health probe in its image, not by a flag of its own:
    # /ready on its HTTP port, and gRPC health where the catalog says grpc_health.
    for service in yaml.safe_load((REPO_ROOT / "group_vars/all/services.yml").read_text())[
        "devtools_services"
    ]:
        container = project_container(service["name"])
        test = [
            "/usr/local/bin/healthprobe",
            "-http",
            f"http://127.0.0.1:{service['http_port']}/ready",
        ]
        if service["grpc_health"]:
            test += ["-grpc", f"127.0.0.1:{service['grpc_port']}"]
        assert container.attrs["Config"]["Healthcheck"]["Test"] == ["CMD", *test]
        image = engine.images.get(container.attrs["Config"]["Image"])
        assert image.attrs["Config"]["Healthcheck"]["Test"] == ["CMD", *test]
        health = container.attrs["State"]["Health"]
        assert health["Status"] == "healthy" and health["Log"][-1]["ExitCode"] == 0, health


def project_container(name: str):
    (container,) = docker.from_env().containers.list(
        all=True,
        filters={
            "label": [
                f"com.docker.compose.project={PROJECT}",
                f"com.docker.compose.service={name}",
            ]
        },
    )
    return container


def test_a_rerun_still_repairs_what_it_no_longer_redoes(run_setup, setup_vars):
    """A rerun skips `compose up` when the stack runs as rendered (compose_drift) and looks
    each image up once: a stopped container, a changed .env and a removed service image are
    still put right by the next run."""
    engine = docker.from_env()
    project_container("redis").stop(timeout=0)
    env_file = Path(setup_vars["workspace"]) / ".env"
    assert "LOG_LEVEL=debug\n" in env_file.read_text()
    env_file.write_text(env_file.read_text().replace("LOG_LEVEL=debug\n", "LOG_LEVEL=info\n"))
    image = project_container("auth-service").attrs["Config"]["Image"]
    engine.images.remove(image, force=True)

    report, _ = run_setup(setup_vars, "setup.yml")
    changed = changed_tasks(report)
    assert any("Build the service images" in name for name in changed), changed
    assert any("docker compose up --wait" in name for name in changed), changed
    for container in engine.containers.list(
        all=True, filters={"label": f"com.docker.compose.project={PROJECT}"}
    ):
        state = container.attrs["State"]
        assert state["Status"] == "running", container.name
        assert state.get("Health", {}).get("Status", "healthy") == "healthy", container.name
    auth = project_container("auth-service")
    assert auth.attrs["Image"] == engine.images.get(image).id
    assert "LOG_LEVEL=info" in auth.attrs["Config"]["Env"]


def test_setup_check_mode_changes_nothing(run_setup, setup_vars):
    report, _ = run_setup(setup_vars, "setup.yml", "--check")
    stats = report["stats"]["localhost"]
    assert stats["failures"] == 0
    assert stats["changed"] == 0, changed_tasks(report)


def test_installed_collection_runs_setup_by_its_fqcn(ansible, run_setup, tmp_path, setup_vars):
    """`ansible-galaxy collection install` then `ansible-playbook vhvcorp.devtools.setup`."""
    collections = tmp_path / "collections"
    # Away from the checkout: an empty ansible.cfg, so its .collections (where the checkout
    # is the collection already) neither satisfies the install nor serves the playbook.
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = {
        "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
    }

    def run(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
        result = ansible(*argv, cwd=cwd, env=env)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr
        return result

    run("ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), cwd=REPO_ROOT)
    (tarball,) = tmp_path.glob("vhvcorp-devtools-*.tar.gz")
    run(
        "ansible-galaxy",
        "collection",
        "install",
        "--no-deps",
        "-p",
        str(collections),
        str(tarball),
        cwd=tmp_path,
    )
    assert (collections / "ansible_collections/vhvcorp/devtools/playbooks/setup.yml").is_file()

    # No inventory: the play targets this machine, which the first test set up already.
    report, _ = run_setup(setup_vars, "vhvcorp.devtools.setup", env=env, cwd=tmp_path)
    assert list(report["stats"]) == ["localhost"]
    assert report["stats"]["localhost"]["changed"] == 0, changed_tasks(report)


def test_check_health_passes(run_setup, setup_vars):
    report, _ = run_setup(setup_vars, "check-health.yml")
    _, health = task_result(report, HEALTH_TASK)
    assert health["healthy"] is True
    assert len(health["endpoints"]) >= 4 + len(SERVICES)
    print("\n".join(health_table(report)))


def test_prometheus_scrapes_the_services_that_expose_metrics(setup_vars):
    """Prometheus (published on 127.0.0.1:9090) scrapes /metrics of each stand-in service
    whose catalog entry has a metrics_path (the real gateway and notification), and no
    other."""
    scraped = [s["name"] for s in CATALOG if s.get("metrics_path")]
    assert scraped == ["api-gateway", "notification-service"]
    deadline = time.monotonic() + 60  # the scrape interval is 15 s; the stack is older
    while True:
        targets = {
            t["labels"]["job"]: t for t in prometheus("targets", state="active")["activeTargets"]
        }
        down = {job: t["health"] for job, t in targets.items() if t["health"] != "up"}
        if set(scraped) <= set(targets) and not down or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert set(targets) == {"prometheus", *scraped}, sorted(targets)
    assert down == {}, {job: targets[job]["lastError"] for job in down}
    for name in scraped:  # each service on the stack's network, by its name
        assert re.fullmatch(rf"http://{name}:\d+/metrics", targets[name]["scrapeUrl"]), targets
    # A metric of the stand-in itself (its HTTP middleware counts the probes and scrapes).
    samples = prometheus("query", query="sum by (job) (http_requests_total)")["result"]
    counted = {sample["metric"]["job"]: float(sample["value"][1]) for sample in samples}
    assert set(counted) == set(scraped), counted
    assert all(count > 0 for count in counted.values()), counted


def test_backup_reset_and_restore_give_the_seeded_data_back(run_setup, setup_vars):
    run_setup(setup_vars, "db-seed.yml")
    seeded = users_count()
    assert seeded > 0

    run_setup(setup_vars, "db-backup.yml")
    (archive,) = sorted(Path(setup_vars["workspace"], "backups", "daily").glob("*.tar.gz"))

    run_setup(setup_vars, "db-reset.yml", "-e", "confirm=true", "-e", "database_reset_reseed=false")
    assert users_count() == 0

    run_setup(setup_vars, "db-restore.yml", "-e", f"file={archive}")
    assert users_count() == seeded


def test_stop_then_start_keeps_the_data(run_setup, setup_vars):
    before = users_count()
    run_setup(setup_vars, "stop.yml")
    running = docker.from_env().containers.list(
        filters={"label": f"com.docker.compose.project={PROJECT}"}
    )
    assert running == []
    run_setup(setup_vars, "start.yml")
    assert users_count() == before


def test_restart_and_rebuild_one_service(run_setup, setup_vars):
    def started_at(name: str) -> str:
        container = project_container(name)
        return container.attrs["State"]["StartedAt"], container.id

    before_restart = started_at("auth-service")
    run_setup(setup_vars, "restart-service.yml", "-e", "service=auth-service")
    after_restart = started_at("auth-service")
    assert after_restart[0] != before_restart[0] and after_restart[1] == before_restart[1]

    other = started_at("tenant-service")
    before_rebuild = started_at("user-service")
    run_setup(setup_vars, "rebuild.yml", "-e", "service=user-service")
    assert started_at("user-service")[1] != before_rebuild[1]  # a new container
    assert started_at("tenant-service") == other  # the others untouched
    run_setup(setup_vars, "check-health.yml")


def test_a_failing_service_makes_setup_fail_and_names_it(run_setup, setup_vars):
    services = yaml.safe_load((REPO_ROOT / "group_vars/all/services.yml").read_text())
    catalog = services["devtools_services"]
    for service in catalog:
        if service["name"] == "tenant-service":
            service["environment"] = {"STANDIN_FAIL_HEALTH": "true"}
    # Not strict: the others come up and the seed runs; the health step (20 s for
    # tenant-service to turn healthy, which it never does) fails at the end.
    failing = dict(
        setup_vars, devtools_services=catalog, stack_wait_timeout=120, stack_health_deadline=20
    )
    report, _ = run_setup(failing, "setup.yml", expect_failure=True)
    failures = [
        host.get("msg", "")
        for play in report["plays"]
        for task in play["tasks"]
        for host in task["hosts"].values()
        if host.get("failed")
    ]
    assert any("tenant-service" in message for message in failures), failures
    assert not any("user-service" in message for message in failures), failures

    # check-health on that stack: the table shows the failure, then the run fails naming it.
    report, _ = run_setup(failing, "check-health.yml", expect_failure=True)
    _, health = task_result(report, HEALTH_TASK)
    assert {"tenant-service", "tenant-service grpc"} <= set(health["unhealthy"]), health
    assert "user-service" not in health["unhealthy"], health
    table = health_table(report)
    print("\n".join(table))
    (line,) = [line for line in table if line.startswith("tenant-service  ")]
    assert re.search(r"  unhealthy: HTTP 503, expected 200 +\d+\.\d ms +-$", line), table
    assert any(re.match(r"user-service +healthy +\d", line) for line in table), table
    _, failed = task_result(
        report,
        "Fail naming the services that did not come up and the endpoints that are not healthy.",
    )
    assert failed["failed"] and "tenant-service (http http://127.0.0.1:" in failed["msg"]
    assert "user-service" not in failed["msg"], failed["msg"]


def test_setup_with_skip_seed_brings_up_an_empty_healthy_stack(run_setup, setup_vars):
    """From a stack with no data: everything but the seed is done, and all is healthy."""
    run_setup(setup_vars, "stop.yml", "-e", "volumes=true")
    report, _ = run_setup(setup_vars, "setup.yml", "-e", "skip_seed=true")
    ran = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            role = task["task"]["name"].split(" : ")[0].rsplit(".", 1)[-1]
            result = task["hosts"].get("localhost", {})
            ran.setdefault(role, set()).add(not result.get("skipped", False))
    assert ran["database"] == {False}, "a task of the seed ran"
    roles = {role for role, done in ran.items() if True in done}
    assert {"prerequisites", "docker", "go_toolchain", "go_tools", "repositories"} <= roles
    assert {"workspace", "local_images", "stack"} <= roles
    with pymongo.MongoClient(MONGODB_URI, serverSelectionTimeoutMS=5000) as client:
        collections = client["go_dev"].list_collection_names()
    # Only the stand-ins' own start records: no fixture, index or migration of the seed.
    assert collections == ["service_starts"], collections
    _, health = task_result(report, HEALTH_TASK)
    assert health["healthy"] is True, health["unhealthy"]
    assert len(health_table(report)) == len(health["endpoints"]) + 2
    assert report["stats"]["localhost"]["failures"] == 0


def test_clean_leaves_no_container_network_or_volume(run_setup, setup_vars):
    run_setup(setup_vars, "clean.yml")
    assert project_leftovers() == {"containers": [], "networks": [], "volumes": []}
    assert (Path(setup_vars["workspace"]) / ".env").is_file()
