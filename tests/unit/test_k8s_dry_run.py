"""k8s_dry_run_errors: what the API server's dry run refused, as one line per object."""

import json

from ansible_collections.vhvcorp.devtools.plugins.module_utils._k8s_deploy import (
    k8s_dry_run_errors,
)

OBJECTS = [
    {"kind": "Namespace", "metadata": {"name": "shop"}},
    {"kind": "Service", "metadata": {"name": "web", "namespace": "shop"}},
    {"kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}},
]


def refused(message: str) -> dict:
    status = {"kind": "Status", "status": "Failure", "message": message, "code": 422}
    return {"changed": False, "error": {"msg": "Failed to apply object: " + json.dumps(status)}}


def test_each_refused_object_is_one_line_with_the_api_servers_message():
    result = {
        "result": {
            "results": [
                {"changed": True},
                refused('Service "web" is invalid: spec.ports[0].port: Invalid value: 99999'),
                refused('namespaces "shop" not found'),
            ]
        }
    }
    assert k8s_dry_run_errors(result, OBJECTS) == [
        'Service/web: Service "web" is invalid: spec.ports[0].port: Invalid value: 99999',
        'Deployment/web: namespaces "shop" not found',
    ]


def test_one_object_is_its_result_alone():
    objects = OBJECTS[1:2]
    assert k8s_dry_run_errors(refused("no"), objects) == ["Service/web: no"]
    assert k8s_dry_run_errors({"changed": True}, objects) == []
