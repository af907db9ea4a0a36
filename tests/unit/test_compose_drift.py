"""compose_drift: the comparison of a project's files with its containers (pure logic).

tests/integration/test_compose_drift.py runs it against real containers.
"""

from ansible_collections.vhvcorp.devtools.plugins.module_utils.compose_drift import (
    find_drift,
    parse_hashes,
)

IMAGE = "vhvcorp-local/redis:7.0"


def container(
    service,
    config_hash="h1",
    image_id="sha256:a",
    status="running",
    health="healthy",
    oneoff="False",
    reference=IMAGE,
):
    state = {"Status": status}
    if health is not None:
        state["Health"] = {"Status": health}
    return {
        "Image": image_id,
        "State": state,
        "Config": {
            "Image": reference,
            "Labels": {
                "com.docker.compose.service": service,
                "com.docker.compose.config-hash": config_hash,
                "com.docker.compose.oneoff": oneoff,
            },
        },
    }


def test_parse_hashes_reads_one_service_a_line():
    assert parse_hashes("redis 99fb\nauth-service b46e\n\n") == {
        "redis": "99fb",
        "auth-service": "b46e",
    }


def test_a_project_in_place_has_no_drift():
    assert find_drift({"redis": "h1"}, [container("redis")], {IMAGE: "sha256:a"}) == []
    # No health check: running is enough.
    assert find_drift({"redis": "h1"}, [container("redis", health=None)], {IMAGE: "sha256:a"}) == []


def test_each_kind_of_drift_is_named():
    images = {IMAGE: "sha256:a"}
    cases = [
        ([], "no container"),
        ([container("redis", config_hash="h0")], "configuration changed"),
        ([container("redis", image_id="sha256:old")], f"image {IMAGE} changed"),
        ([container("redis", status="exited", health="unhealthy")], "not running (exited)"),
        ([container("redis", health="starting")], "not healthy (starting)"),
    ]
    for containers, reason in cases:
        assert find_drift({"redis": "h1"}, containers, images) == [
            {"service": "redis", "reason": reason}
        ], reason
    assert find_drift({"redis": "h1"}, [container("redis")], {}) == [
        {"service": "redis", "reason": f"image {IMAGE} missing"}
    ]


def test_orphans_drift_and_one_off_containers_do_not():
    containers = [
        container("redis"),
        container("old-service"),
        container("redis", oneoff="True", status="exited"),
    ]
    assert find_drift({"redis": "h1"}, containers, {IMAGE: "sha256:a"}) == [
        {"service": "old-service", "reason": "orphan: no longer in the files"}
    ]
