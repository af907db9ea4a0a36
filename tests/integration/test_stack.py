"""The stack playbooks on the real Docker engine: the infrastructure from the local images.

One stack (project vhvcorp-stacktest, host ports offset by 20000 so it runs next to a
developer's own stack and the harness) goes through start, rerun, status, logs, restart,
stop and start with its data, stop with volumes and clean. Everything is checked through
the published ports on 127.0.0.1 or inside the containers the test started.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import socket
import subprocess
import time
import urllib.request
import uuid

import pymongo
import pytest

pytestmark = pytest.mark.integration

PROJECT = "vhvcorp-stacktest"
OFFSET = 20000
PORTS = {"mongodb": 27017 + OFFSET, "redis": 6379 + OFFSET, "management": 15672 + OFFSET}
PROMETHEUS = 9090 + OFFSET
INFRA = ["mongodb", "prometheus", "rabbitmq", "redis"]


def changed_count(stdout: str) -> int:
    match = re.search(r"localhost\s+:\s+ok=\d+\s+changed=(\d+)", stdout)
    assert match, stdout[-2000:]
    return int(match.group(1))


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def project_resources() -> dict:
    label = f"label=com.docker.compose.project={PROJECT}"
    return {
        "containers": docker("ps", "-a", "-q", "--filter", label).split(),
        "networks": docker("network", "ls", "-q", "--filter", label).split(),
        "volumes": docker("volume", "ls", "-q", "--filter", label).split(),
    }


def ps() -> dict:
    out = docker("compose", "-p", PROJECT, "ps", "--all", "--format", "json").strip()
    entries = (
        json.loads(out) if out.startswith("[") else [json.loads(x) for x in out.splitlines() if x]
    )
    return {e["Service"]: e for e in entries}


def http_json(url: str, auth: tuple[str, str] | None = None):
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - 127.0.0.1 only
        return json.load(answer)


def redis_command(*words: str) -> list:
    """One Redis command over RESP on the published port; the reply as a list of strings."""
    payload = f"*{len(words)}\r\n" + "".join(f"${len(w)}\r\n{w}\r\n" for w in words)
    with socket.create_connection(("127.0.0.1", PORTS["redis"]), timeout=5) as conn:
        conn.sendall(payload.encode())
        data = b""
        while data.count(b"\r\n") < 5:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
    lines = data.decode().split("\r\n")
    return [line for line in lines[1:] if line and not line.startswith("$")]


@pytest.fixture(scope="module")
def stack(make_workspace, tmp_path_factory):
    """A workspace with the workspace role's .env, and the options of every stack run."""
    workspace = tmp_path_factory.mktemp("stack") / "ws"
    env = make_workspace(workspace)
    options = [
        "-e", f"workspace={workspace}",
        "-e", "image_source=local",
        "-e", "profile=custom",
        "-e", '{"services": []}',
        "-e", f"devtools_stack_project={PROJECT}",
        "-e", f"devtools_stack_port_offset={OFFSET}",
    ]  # fmt: skip
    yield {"workspace": workspace, "options": options, "env": env}
    subprocess.run(
        ["docker", "compose", "-p", PROJECT, "down", "--volumes", "--remove-orphans"],
        capture_output=True,
        check=False,
    )


def test_start_brings_the_infrastructure_up_healthy(playbook, stack):
    started = time.monotonic()
    up = playbook("start.yml", *stack["options"])
    assert up.returncode == 0, up.stdout[-4000:]
    containers = ps()
    assert sorted(containers) == INFRA
    assert {name: c["Health"] for name, c in containers.items()} == dict.fromkeys(INFRA, "healthy")
    # Published on 127.0.0.1 only.
    published = {
        p["URL"] for c in containers.values() for p in c["Publishers"] if p["PublishedPort"]
    }
    assert published == {"127.0.0.1"}
    print(f"start to all-healthy: {time.monotonic() - started:.1f}s")
    compose = stack["workspace"] / "deploy" / "compose"
    assert (compose / "compose.override.yml").is_file()
    # A real Ansible warning (on stderr, perhaps wrapped), not a debug line.
    warned = " ".join(up.stderr.split())
    assert "[WARNING]:" in warned
    assert "mongodb: vhvcorp-local/ferretdb:1.24 instead of mongo:7.0" in warned


def test_a_second_start_changes_nothing(playbook, stack):
    override = stack["workspace"] / "deploy" / "compose" / "compose.override.yml"
    override.write_text("# mine\nservices: {}\n")
    again = playbook("start.yml", *stack["options"], "-e", "stack_build_local_images=false")
    assert again.returncode == 0, again.stdout[-4000:]
    assert changed_count(again.stdout) == 0, again.stdout[-4000:]
    assert override.read_text() == "# mine\nservices: {}\n"  # the user overlay is never rewritten


def test_missing_local_images_are_named_before_anything_is_started(playbook, stack):
    """With stack_build_local_images false the images are looked up (with the service
    images, in one lookup) and the missing ones named, with what to do."""
    before = {name: c["ID"] for name, c in ps().items()}
    missing = playbook(
        "start.yml", *stack["options"], "-e", "stack_build_local_images=false",
        "-e", "devtools_stack_local_namespace=vhvcorp-missing",
    )  # fmt: skip
    assert missing.returncode != 0
    assert "The local images vhvcorp-missing/" in missing.stdout, missing.stdout[-3000:]
    assert "make images" in missing.stdout
    assert {name: c["ID"] for name, c in ps().items()} == before
    # The compose files are rendered with the real images again.
    again = playbook("start.yml", *stack["options"], "-e", "stack_build_local_images=false")
    assert again.returncode == 0, again.stdout[-3000:]
    assert {name: c["ID"] for name, c in ps().items()} == before


def test_rabbitmq_loaded_the_topology_and_the_env_password(stack):
    auth = (stack["env"]["RABBITMQ_USERNAME"], stack["env"]["RABBITMQ_PASSWORD"].strip("'\""))
    base = f"http://127.0.0.1:{PORTS['management']}/api"
    exchanges = {e["name"]: e for e in http_json(f"{base}/exchanges/%2F", auth)}
    assert exchanges["notifications"]["type"] == "topic"
    assert exchanges["events"]["type"] == "fanout"
    assert exchanges["dlx"]["durable"] is True
    queues = {q["name"]: q for q in http_json(f"{base}/queues/%2F", auth)}
    assert set(queues) == {
        "notifications.email",
        "notifications.sms",
        "notifications.push",
        "audit.logs",
        "analytics.events",
        "webhooks.dispatch",
        "dlx.failed",
    }
    assert all(q["durable"] for q in queues.values())
    assert queues["audit.logs"]["arguments"]["x-dead-letter-exchange"] == "dlx"
    bindings = {
        (b["source"], b["destination"], b["routing_key"])
        for b in http_json(f"{base}/bindings/%2F", auth)
    }
    assert ("notifications", "notifications.email", "email.*") in bindings
    assert ("events", "webhooks.dispatch", "") in bindings
    # The documented default password does not get in.
    with pytest.raises(urllib.error.HTTPError):
        http_json(f"{base}/whoami", ("guest", "guest"))


def test_redis_runs_with_the_memory_settings():
    assert redis_command("CONFIG", "GET", "maxmemory") == ["maxmemory", str(2 * 1024**3)]
    assert redis_command("CONFIG", "GET", "maxmemory-policy") == ["maxmemory-policy", "allkeys-lru"]


def test_prometheus_scrapes_its_jobs_and_loaded_the_alert_rules():
    targets = http_json(f"http://127.0.0.1:{PROMETHEUS}/api/v1/targets")["data"]["activeTargets"]
    assert {t["labels"]["job"] for t in targets} == {"prometheus"}
    deadline = time.monotonic() + 30
    while any(t["health"] != "up" for t in targets) and time.monotonic() < deadline:
        time.sleep(2)
        targets = http_json(f"http://127.0.0.1:{PROMETHEUS}/api/v1/targets")["data"][
            "activeTargets"
        ]
    assert [t["health"] for t in targets] == ["up"]
    rules = http_json(f"http://127.0.0.1:{PROMETHEUS}/api/v1/rules")["data"]["groups"][0]["rules"]
    assert {r["name"] for r in rules} == {"HighErrorRate", "ServiceDown"}


def printed_table(stdout: str, task: str) -> list:
    """The lines of a debug message, as the YAML result format prints a multi-line string
    (a literal block, each line as it is), of the task whose name ends with `task`."""
    block = stdout.split(f"{task}] *")[-1].split("    msg: |-\n")[1]
    return [line[8:] for line in itertools.takewhile(str.strip, block.splitlines())]


def test_status_prints_one_table(playbook, stack):
    status = playbook("status.yml", *stack["options"])
    assert status.returncode == 0, status.stdout[-3000:]
    lines = printed_table(status.stdout, "(service, state, health, ports).")
    assert re.fullmatch(r"SERVICE\s+STATE\s+HEALTH\s+PORTS", lines[0]), lines
    assert [line.split()[:3] for line in lines[1:]] == [[n, "running", "healthy"] for n in INFRA]
    # RabbitMQ's two ports on its one line: a long row is not folded.
    assert re.fullmatch(
        rf"rabbitmq\s+running\s+healthy\s+127\.0\.0\.1:{5672 + OFFSET}->5672/tcp, "
        rf"127\.0\.0\.1:{PORTS['management']}->15672/tcp",
        lines[3],
    ), lines


def test_check_health_ends_with_a_table_of_real_figures(playbook, stack):
    checked = playbook("check-health.yml", *stack["options"])
    assert checked.returncode == 0, checked.stdout[-3000:]
    lines = printed_table(checked.stdout, "(endpoint, state, latency, healthy after).")
    assert re.fullmatch(r"ENDPOINT\s+STATE\s+LATENCY  HEALTHY AFTER", lines[0]), lines
    rows = {}
    for line in lines[1:-1]:
        name, latency, after = re.fullmatch(
            r"(\S+)\s+healthy\s+(\d+\.\d) ms\s+(\d+\.\d\d) s", line
        ).groups()
        rows[name] = (float(latency), float(after))
        assert len(line) == len(lines[0]), lines  # aligned: the figures end under the header
    assert sorted(rows) == INFRA
    # Real figures: measured now, on 127.0.0.1 (not all zero, and within the run's time).
    assert sum(latency for latency, _ in rows.values()) > 0
    assert all(latency < 2000 and after < 10 for latency, after in rows.values()), rows
    assert re.fullmatch(r"4 of 4 endpoints healthy within \d+\.\d+ s\.", lines[-1]), lines


def test_logs_of_one_service_and_restart_of_one(playbook, stack):
    logs = playbook("logs.yml", *stack["options"], "-e", "service=redis", "-e", "tail=20")
    assert logs.returncode == 0, logs.stdout[-3000:]
    assert "Ready to accept connections" in logs.stdout
    assert "rabbitmq" not in logs.stdout.split("TASK [vhvcorp.devtools.stack : Print the logs.]")[1]
    before = docker("inspect", "-f", "{{.State.StartedAt}}", f"{PROJECT}-redis")
    restarted = playbook("restart-service.yml", *stack["options"], "-e", "service=redis")
    assert restarted.returncode == 0, restarted.stdout[-3000:]
    assert docker("inspect", "-f", "{{.State.StartedAt}}", f"{PROJECT}-redis") != before
    assert ps()["redis"]["Health"] == "healthy"
    wrong = playbook("restart-service.yml", *stack["options"], "-e", "service=nosuch")
    assert (
        wrong.returncode != 0 and "service=nosuch is not a container of this stack" in wrong.stdout
    )


def test_stop_keeps_the_data_and_start_brings_it_back(playbook, stack):
    marker = uuid.uuid4().hex
    uri = f"mongodb://127.0.0.1:{PORTS['mongodb']}/"
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        client.stacktest.marks.insert_one({"_id": marker})
    stopped = playbook("stop.yml", *stack["options"])
    assert stopped.returncode == 0, stopped.stdout[-3000:]
    left = project_resources()
    assert left["containers"] == [] and left["networks"] == []
    assert len(left["volumes"]) == 4  # mongodb, redis, rabbitmq, prometheus data
    up = playbook("start.yml", *stack["options"], "-e", "stack_build_local_images=false")
    assert up.returncode == 0, up.stdout[-3000:]
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        assert client.stacktest.marks.find_one({"_id": marker}) == {"_id": marker}


def test_stop_with_volumes_then_clean_leave_nothing_but_the_env_and_overlay(playbook, stack):
    stopped = playbook("stop.yml", *stack["options"], "-e", "volumes=true")
    assert stopped.returncode == 0, stopped.stdout[-3000:]
    assert project_resources() == {"containers": [], "networks": [], "volumes": []}
    cleaned = playbook("clean.yml", *stack["options"])
    assert cleaned.returncode == 0, cleaned.stdout[-3000:]
    assert project_resources() == {"containers": [], "networks": [], "volumes": []}
    deploy = stack["workspace"] / "deploy"
    assert sorted(p.name for p in deploy.rglob("*")) == ["compose", "compose.override.yml"]
    assert (stack["workspace"] / ".env").is_file()
    again = playbook("clean.yml", *stack["options"])
    assert again.returncode == 0 and changed_count(again.stdout) == 0, again.stdout[-3000:]


def test_full_catalog_renders_valid_compose_and_prometheus_files(playbook, stack, tmp_path):
    """Every service and overlay: `docker compose config` and promtool accept what is rendered."""
    play = tmp_path / "render.yml"
    play.write_text(
        "- hosts: localhost\n"
        "  gather_facts: false\n"
        "  roles:\n"
        "    - role: vhvcorp.devtools.stack\n"
        "      stack_action: render\n"
        f"      stack_workspace_dir: {stack['workspace']}\n"
        "      stack_image_source: local\n"
        "      stack_profile: full\n"
        f"      stack_project: {PROJECT}\n"
    )
    rendered = playbook(play)
    assert rendered.returncode == 0, rendered.stdout[-3000:]
    compose = stack["workspace"] / "deploy" / "compose"
    config = stack["workspace"] / "deploy" / "config"
    for overlay in ([], ["-f", "compose.dev.yml"], ["-f", "compose.test.yml"]):
        merged = subprocess.run(
            ["docker", "compose", "-p", PROJECT, "--env-file", str(stack["workspace"] / ".env"),
             "-f", "compose.yml", *overlay, "-f", "compose.override.yml",
             "config", "--format", "json"],
            cwd=compose, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        services = json.loads(merged)["services"]
        # MongoDB, Redis, RabbitMQ, Prometheus and Jaeger (local images; not Grafana) + 6
        assert len(services) == 11, sorted(services)
    checked = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", "promtool",
         "-v", f"{config / 'prometheus'}:/etc/prometheus:ro", "vhvcorp-local/prometheus:2.42",
         "check", "config", "/etc/prometheus/prometheus.yml"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 2 rules found" in checked.stdout
    scrape = (config / "prometheus" / "prometheus.yml").read_text()
    # Only the services that serve /metrics (the real gateway and notification) are scraped.
    for name in ("api-gateway", "notification-service"):
        assert f"job_name: {name}" in scrape
    for name in ("auth-service", "system-config-service"):
        assert f"job_name: {name}" not in scrape
    dashboards = sorted(p.name for p in (config / "grafana" / "dashboards").iterdir())
    assert dashboards == ["business-metrics.json", "resource-usage.json", "service-overview.json"]
    assert (
        json.loads((config / "jaeger" / "sampling.json").read_text())["default_strategy"]["param"]
        == 1.0
    )
