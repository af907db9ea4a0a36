"""What the k8s role reads back (module_utils/_k8s_deploy.py): the table of a failed
rollout and the objects to prune."""

from ansible_collections.vhvcorp.devtools.plugins.filter import catalog as c


def pod(name, ready, statuses=None, conditions=None):
    return {
        "metadata": {"name": name},
        "status": {
            "phase": "Running" if ready else "Pending",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]
            + (conditions or []),
            "containerStatuses": statuses or [],
        },
    }


def event(pod_name, reason, message, when):
    return {
        "involvedObject": {"name": pod_name},
        "reason": reason,
        "message": message,
        "lastTimestamp": when,
    }


def test_a_ready_pod_gives_no_row_and_each_unready_container_one():
    pods = [
        pod("api-1", True, [{"name": "api", "ready": True, "state": {"running": {}}}]),
        pod(
            "auth-1",
            False,
            [
                {
                    "name": "auth",
                    "ready": False,
                    "state": {"waiting": {"reason": "ImagePullBackOff"}},
                },
                {
                    "name": "side",
                    "ready": False,
                    "state": {"running": {}},
                    "lastState": {"terminated": {"reason": "Error", "exitCode": 2}},
                },
            ],
        ),
    ]
    events = [
        event("auth-1", "Pulling", "pulling image", "2026-12-06T10:00:01Z"),
        event("auth-1", "Failed", "no such image", "2026-12-06T10:00:03Z"),
        event("auth-1", "Scheduled", "assigned", "2026-12-06T10:00:00Z"),
        event("auth-1", "BackOff", "backing off", "2026-12-06T10:00:04Z"),
        event("api-1", "Started", "started", "2026-12-06T10:00:05Z"),
    ]
    rows = c.k8s_unready_rows(pods, events)
    last = "Pulling: pulling image; Failed: no such image; BackOff: backing off"
    assert rows == [
        {"pod": "auth-1", "container": "auth", "reason": "ImagePullBackOff", "last_events": last},
        {"pod": "auth-1", "container": "side", "reason": "Error (exit 2)", "last_events": last},
    ]
    table = c.stack_table(rows, ["pod", "container", "reason", "last_events"])
    assert table.splitlines()[0].split() == ["POD", "CONTAINER", "REASON", "LAST", "EVENTS"]


def test_an_unscheduled_pod_is_one_row_with_the_conditions_reason():
    unscheduled = pod(
        "db-0",
        False,
        conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
    )
    assert c.k8s_unready_rows([unscheduled]) == [
        {"pod": "db-0", "container": "-", "reason": "Unschedulable", "last_events": ""}
    ]


def test_prune_keeps_what_the_layout_has():
    def obj(kind, name):
        return {"kind": kind, "metadata": {"name": name}}

    found = [obj("Deployment", "a"), obj("Deployment", "b"), obj("Service", "b")]
    rendered = [obj("Deployment", "a"), obj("Service", "b")]
    assert c.k8s_not_in(found, rendered) == [obj("Deployment", "b")]
