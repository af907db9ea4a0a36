"""Each image the local_images role built runs and serves its protocol on 127.0.0.1."""

import json
import socket
import time
import urllib.request
from collections.abc import Callable

import pymongo
import pytest


def image_ref(harness_state: dict, key: str) -> str:
    return next(i["image"] for i in harness_state["images"] if i["key"] == key)


def run(engine, labels, harness_state, key: str, port: int, **kwargs):
    """Start the image with `port` published on 127.0.0.1 (a free host port)."""
    container = engine.containers.run(
        image_ref(harness_state, key),
        detach=True,
        labels=labels,
        ports={f"{port}/tcp": ("127.0.0.1", None)},
        **kwargs,
    )
    container.reload()
    host_port = int(container.ports[f"{port}/tcp"][0]["HostPort"])
    return container, host_port


def eventually(check: Callable[[], object], timeout: float, container) -> object:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            return check()
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            last = exc
            time.sleep(0.3)
    logs = container.logs(tail=30).decode(errors="replace")
    pytest.fail(f"{container.image.tags} did not answer within {timeout}s ({last}); logs:\n{logs}")


def test_image_names_are_the_catalog(harness_state):
    images = [(i["key"], i["image"].rsplit(":", 1)[-1]) for i in harness_state["images"]]
    bookworm = [key for key, tag in images if tag not in ("trixie", "bullseye")]
    assert bookworm == [
        "base", "python", "redis", "rabbitmq", "prometheus", "ferretdb", "jaeger", "go"
    ]  # fmt: skip
    # Molecule's second Debian release and the fleet's Debian 11: base and python only.
    assert [key for key, tag in images if tag == "trixie"] == ["base", "python"]
    assert [key for key, tag in images if tag == "bullseye"] == ["base", "python"]


def test_base_and_python_images(engine, harness_state):
    out = engine.containers.run(
        image_ref(harness_state, "base"), ["cat", "/etc/debian_version"], remove=True
    )
    assert out.decode().startswith("12.")
    out = engine.containers.run(
        image_ref(harness_state, "python"),
        ["python3", "-c", "import apt, sys; print(sys.version_info[0])"],
        remove=True,
    )
    assert out.decode().strip() == "3"


def test_redis_answers_ping_and_runs_unprivileged(engine, harness_state, container_label):
    container, port = run(engine, container_label, harness_state, "redis", 6379)

    def ping():
        # docker-proxy accepts before Redis listens; an empty answer means "not yet".
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            answer = sock.recv(64)
        if not answer:
            raise ConnectionError("connection closed before Redis answered")
        return answer

    assert eventually(ping, 30, container) == b"+PONG\r\n"
    assert container.exec_run(["id", "-un"]).output.decode().strip() == "redis"


def test_rabbitmq_speaks_amqp_and_serves_management(engine, harness_state, container_label):
    container = engine.containers.run(
        image_ref(harness_state, "rabbitmq"),
        detach=True,
        labels=container_label,
        hostname="rabbit-test",
        ports={"5672/tcp": ("127.0.0.1", None), "15672/tcp": ("127.0.0.1", None)},
    )
    container.reload()
    amqp = int(container.ports["5672/tcp"][0]["HostPort"])
    mgmt = int(container.ports["15672/tcp"][0]["HostPort"])

    def overview():
        request = urllib.request.Request(f"http://127.0.0.1:{mgmt}/api/overview")
        request.add_header("Authorization", "Basic Z3Vlc3Q6Z3Vlc3Q=")  # guest:guest
        with urllib.request.urlopen(request, timeout=2) as response:
            return json.load(response)

    assert eventually(overview, 90, container)["product_name"] == "RabbitMQ"

    def amqp_start():
        with socket.create_connection(("127.0.0.1", amqp), timeout=5) as sock:
            sock.sendall(b"AMQP\x00\x00\x09\x01")
            answer = sock.recv(7)
        if len(answer) < 7:
            raise ConnectionError(f"short AMQP answer {answer!r}")
        return answer

    frame = eventually(amqp_start, 30, container)
    # A method frame (type 1) on channel 0: connection.start.
    assert frame[0] == 1 and frame[1:3] == b"\x00\x00"


def test_prometheus_is_ready(engine, harness_state, container_label):
    container, port = run(engine, container_label, harness_state, "prometheus", 9090)

    def ready():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2) as response:
            return response.status

    assert eventually(ready, 60, container) == 200


def test_ferretdb_image_stores_documents(engine, harness_state, container_label):
    container, port = run(engine, container_label, harness_state, "ferretdb", 27017)
    client = pymongo.MongoClient(f"mongodb://127.0.0.1:{port}/", serverSelectionTimeoutMS=1000)

    def ping():
        return client.admin.command("ping")

    eventually(ping, 30, container)
    client.smoke.docs.insert_one({"_id": 1, "ok": True})
    assert client.smoke.docs.find_one({"_id": 1}) == {"_id": 1, "ok": True}
    assert client.server_info()["version"].startswith("7.0")
    client.close()
    assert container.exec_run(["id", "-un"]).output.decode().strip() == "ferretdb"


def test_every_image_carries_its_own_recipe_label(engine, harness_state):
    """The label decides reuse; an image must not just inherit its base's label."""
    label = "org.vhvcorp.devtools.recipe"
    recipes = {
        key: engine.images.get(image_ref(harness_state, key)).labels.get(label)
        for key in ("base", "python", "redis", "rabbitmq", "prometheus", "ferretdb", "jaeger", "go")
    }
    assert all(recipes.values()), recipes
    assert len(set(recipes.values())) == len(recipes), recipes


def test_an_image_with_another_name_too_is_reused(engine, harness_state, playbook, tmp_path):
    """Another name for the same image (docker tag), listed before ours, must not hide its
    recipe label: the base image was built again with debootstrap when it did."""
    base = engine.images.get(image_ref(harness_state, "base"))
    other = f"aaa-devtools-test-{tmp_path.name[-8:].lower()}/debian"
    base.tag(other, "bookworm")
    try:
        assert sorted(engine.images.get(f"{other}:bookworm").tags)[0] == f"{other}:bookworm"
        report = tmp_path / "report.json"
        extra = {"local_images_build": ["base"], "local_images_report_file": str(report)}
        run = playbook("playbooks/local_images.yml", "-e", json.dumps(extra))
        assert run.returncode == 0, run.stdout[-3000:]
        assert json.loads(report.read_text())["images"] == [
            {"key": "base", "image": image_ref(harness_state, "base"), "status": "reused",
             "seconds": 0.0}
        ]  # fmt: skip
        assert (
            "debootstrap"
            not in run.stdout.split("Build the Debian base image")[-1].split("TASK")[1]
        )
    finally:
        engine.images.remove(f"{other}:bookworm")
