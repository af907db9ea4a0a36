"""A service added to services.yml alone reaches every artefact rendered from the catalog:
the clone list, the compose files, Prometheus' scrape jobs, the health endpoints, the .env's
URLs and ports, and the VS Code launch configurations. The playbook runs next to a copy of
group_vars/all in a temporary directory, as a user's checkout with one more entry would."""

import json
import shutil

import pytest
import yaml

pytestmark = pytest.mark.integration

BILLING = {
    "name": "billing-service",
    "repository": "billing-service",
    "http_port": 8086,
    "grpc_port": 50056,
    "env_prefix": "BILLING_SERVICE",
    "health_path": "/health",
    "depends_on": ["mongodb"],
    "metrics_path": "/metrics",
    "image": None,
    "build": {"package": "./cmd/server", "binary": "server", "module_dir": "src"},
    "environment": {},
}

PLAY = """\
- name: Render everything the catalog feeds, for this machine.
  hosts: localhost
  gather_facts: true
  gather_subset: [min]
  vars_files:
    - {repo}/roles/repositories/defaults/main.yml
  roles:
    - role: vhvcorp.devtools.workspace
    - role: vhvcorp.devtools.stack
      stack_action: render
  tasks:
    - name: Show what the repositories role would clone.
      ansible.builtin.debug:
        msg: "{{{{ repositories_names }}}}"
    - name: Show the health endpoints.
      ansible.builtin.debug:
        msg: "{{{{ _stack_catalog | vhvcorp.devtools.stack_health_endpoints }}}}"
"""


def shown(report: dict, name: str):
    (task,) = [t for t in report["plays"][0]["tasks"] if t["task"]["name"] == name]
    return task["hosts"]["localhost"]["msg"]


def test_a_seventh_service_in_services_yml_reaches_every_artefact(playbook, repo_root, tmp_path):
    group_vars = tmp_path / "group_vars" / "all"
    shutil.copytree(repo_root / "group_vars" / "all", group_vars)
    services = yaml.safe_load((group_vars / "services.yml").read_text())
    services["devtools_services"].append(BILLING)
    (group_vars / "services.yml").write_text(yaml.safe_dump(services, sort_keys=False))
    (tmp_path / "play.yml").write_text(PLAY.format(repo=repo_root))
    workspace = tmp_path / "workspace"

    result = playbook(
        str(tmp_path / "play.yml"),
        "-e", f"workspace={workspace}",
        "-e", "devtools_stack_image_source=local",
        "-e", "devtools_stack_profile=custom",
        env={"ANSIBLE_STDOUT_CALLBACK": "json"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    report = json.loads(result.stdout)

    # The services' repositories, then the libraries they share.
    assert shown(report, "Show what the repositories role would clone.")[-2:] == [
        "billing-service",
        "go-shared",
    ]
    endpoints = shown(report, "Show the health endpoints.")
    assert {e["name"] for e in endpoints if "billing-service" in e["name"]}, endpoints

    env = (workspace / ".env").read_text()
    assert "BILLING_SERVICE_URL=billing-service:50056\n" in env
    # The port variables the platform's services read (go-shared): HTTP and gRPC.
    assert "BILLING_SERVICE_HTTP_PORT=8086\n" in env and "BILLING_SERVICE_PORT=50056\n" in env

    launch = json.loads((workspace / ".vscode" / "launch.json").read_text())
    (billing_launch,) = [c for c in launch["configurations"] if c["name"] == "billing-service"]
    assert billing_launch["program"] == "${workspaceFolder}/billing-service/src/cmd/server"
    # Its debug .env reaches it, and it the stack, at the published addresses.
    debug = (workspace / ".vscode" / "debug" / ".env").read_text()
    assert "BILLING_SERVICE_URL=127.0.0.1:50056\n" in debug
    assert "MONGODB_URI=mongodb://127.0.0.1:27017\n" in debug

    compose = yaml.safe_load((workspace / "deploy/compose/compose.yml").read_text())
    billing = compose["services"]["billing-service"]
    assert billing["ports"] and billing["depends_on"]["mongodb"]
    # It reads the .env as a file in its working directory, as the others do.
    assert billing["working_dir"] == "/app"
    assert {"type": "bind", "source": str(workspace / ".env"), "target": "/app/.env",
            "read_only": True} in billing["volumes"]  # fmt: skip
    # Its health check is the probe on its health_path; no grpc_health: no gRPC check.
    probe = ["/usr/local/bin/healthprobe", "-http", "http://127.0.0.1:8086/health"]
    assert billing["healthcheck"]["test"] == ["CMD", *probe]
    dockerfile = (workspace / "deploy/build/billing-service/Dockerfile").read_text()
    assert "COPY healthprobe /usr/local/bin/healthprobe\n" in dockerfile
    assert f"CMD {json.dumps(probe)}\n" in dockerfile

    prometheus = yaml.safe_load((workspace / "deploy/config/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    assert "billing-service" in jobs, sorted(jobs)
    assert jobs["billing-service"]["static_configs"][0]["targets"] == ["billing-service:8086"]
