"""The stack role's first step of `up`, each service on its own, with real clones and real
builds and nothing started: which services are left out (not cloned, build failed) and why,
and when the demo service stands in. The repositories role clones from local bare
repositories of the stand-in (tests/standin_fixtures.py), one of them broken; then the stack
role's catalog.yml and outcomes.yml run as `up` runs them, before anything is rendered or
started (no compose, no ports: the end-to-end test, tests/e2e/test_setup_degraded.py,
brings the same up)."""

import json
from pathlib import Path

import pytest
import standin_fixtures as standin  # tests/: pythonpath
import yaml

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]

CATALOG = yaml.safe_load((REPO_ROOT / "group_vars/all/services.yml").read_text())[
    "devtools_services"
]
REPOSITORY = {s["name"]: s["repository"] for s in CATALOG}
BROKEN, UNREACHABLE = "system-config-service", "notification-service"

PLAY = """\
- name: Clone, then compile the services as the stack role's `up` does, and show the outcome.
  hosts: localhost
  gather_facts: true
  gather_subset: [min]
  vars:
    stack_action: up
    stack_workspace_dir: "{{ workspace }}"
    stack_strict: "{{ strict | default(false) | bool }}"
    stack_clone_results: "{{ repositories_result.repositories | default([]) }}"
  roles:
    - role: vhvcorp.devtools.repositories
      repositories_dir: "{{ workspace }}"
      repositories_base_url: "{{ devtools_git_base_url }}"
      repositories_strict: false
  tasks:
    - name: Work out the catalog.
      ansible.builtin.include_role:
        name: vhvcorp.devtools.stack
        tasks_from: catalog.yml
        public: true

    - name: Compile the services and leave out those that cannot run.
      ansible.builtin.include_role:
        name: vhvcorp.devtools.stack
        tasks_from: outcomes.yml
        public: true

    - name: Show the outcome.
      ansible.builtin.debug:
        msg:
          outcomes: "{{ _stack_outcomes }}"
          services: "{{ _stack_catalog.services }}"
          demo: "{{ _stack_catalog.demo }}"
          sources: "{{ _stack_catalog.containers | selectattr('kind', 'equalto', 'service')
                       | map(attribute='build.source_dir') | list }}"
          table: "{{ __stack_report | vhvcorp.devtools.stack_report_table_rows
                     | vhvcorp.devtools.stack_table(['service', 'state', 'reason']) }}"

    # As setup.yml ends (nothing was started here, so it fails: only what it probed counts).
    - name: Check the health of what `up` left in.
      when: health | default(false) | bool
      block:
        - name: Check the health as setup.yml does after the seed.
          ansible.builtin.include_role:
            name: vhvcorp.devtools.stack
          vars:
            stack_action: health
            stack_health_deadline: 0
      rescue:
        - name: Note that nothing was started to be healthy.
          ansible.builtin.debug:
            msg: "{{ ansible_failed_result.msg }}"
"""


def run(playbook, tmp_path: Path, git: Path, *extra: str):
    workspace = tmp_path / "workspace"
    workspace.mkdir(exist_ok=True)
    (workspace / ".env").write_text("ENVIRONMENT=development\n")
    (tmp_path / "play.yml").write_text(PLAY)
    result = playbook(
        str(tmp_path / "play.yml"),
        "-e", f"workspace={workspace}",
        "-e", f"devtools_git_base_url={standin.base_url(git)}",
        "-e", "devtools_stack_image_source=local",
        # The stand-ins' library, and no generation: they carry all their code.
        "-e", json.dumps({"devtools_libraries": [standin.DEMO_LIBRARY]}),
        "-e", "devtools_stack_generate=false",
        *extra,
        env={"ANSIBLE_STDOUT_CALLBACK": "json"},
    )  # fmt: skip
    report = json.loads(result.stdout) if result.stdout.startswith("{") else None
    return result, report


def shown(report: dict) -> dict:
    tasks = [t for play in report["plays"] for t in play["tasks"]]
    (task,) = [t for t in tasks if t["task"]["name"] == "Show the outcome."]
    return task["hosts"]["localhost"]["msg"]


def test_a_broken_and_an_unreachable_repository_are_left_out_with_their_reasons(playbook, tmp_path):
    git = tmp_path / "git"
    standin.make_service_repositories(
        git, [r for n, r in REPOSITORY.items() if n not in (BROKEN, UNREACHABLE)]
    )
    standin.make_broken_service_repository(git, REPOSITORY[BROKEN])
    standin.make_library_repository(git)

    result, report = run(playbook, tmp_path, git, "-e", "health=true")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    out = shown(report)
    running = [n for n in REPOSITORY if n not in (BROKEN, UNREACHABLE)]
    # The health step after `up` probes the catalog `up` left (not the services left out),
    # and works out no catalog again (one rerun of setup.yml: a dozen tasks fewer).
    tasks = [t for play in report["plays"] for t in play["tasks"]]
    (health,) = [
        t
        for t in tasks
        if t["task"]["name"].endswith(
            " : Check every service's health endpoints and every component's port."
        )
    ]
    probed = {e["name"] for e in health["hosts"]["localhost"]["endpoints"]}
    assert set(running) <= probed and not {BROKEN, UNREACHABLE} & probed, probed
    (catalog,) = [
        t
        for t in tasks
        if t["task"]["name"].endswith(
            " : Work out the catalog (profile, image source, containers)."
        )
    ]
    assert catalog["hosts"]["localhost"].get("skipped"), catalog["hosts"]["localhost"]
    assert out["services"] == running  # the catalog the compose files are rendered from
    assert out["outcomes"]["failed"] == [UNREACHABLE, BROKEN]
    assert out["demo"] is False
    rows = {r["service"]: r for r in out["outcomes"]["rows"]}
    assert rows[UNREACHABLE]["state"] == "not cloned"
    assert f"{REPOSITORY[UNREACHABLE]}.git" in rows[UNREACHABLE]["reason"], rows
    assert rows[BROKEN]["state"] == "build failed"
    first, second = rows[BROKEN]["reason"].splitlines()[:2]
    assert first.startswith("# ") and first.endswith("/internal/server"), first
    assert second.startswith('internal/server/broken.go:4:22: cannot use "8080"'), second
    print(out["table"])
    assert out["table"].splitlines()[0].split() == ["SERVICE", "STATE", "REASON"]


def test_not_one_repository_brings_the_demo_for_every_service_and_says_so(playbook, tmp_path):
    git = tmp_path / "git"
    git.mkdir()
    result, report = run(playbook, tmp_path, git)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    out = shown(report)
    assert out["demo"] is True
    assert out["services"] == list(REPOSITORY)
    assert {r["state"] for r in out["outcomes"]["rows"]} == {"demo"}
    assert {Path(s).parts[-4:] for s in out["sources"]} == {
        ("roles", "stack", "files", "demo-service")
    }
    tasks = [t for play in report["plays"] for t in play["tasks"]]
    (warned,) = [t for t in tasks if t["task"]["name"].split(" : ")[-1].startswith("Say loudly")]
    warnings = warned["hosts"]["localhost"]["warnings"]
    assert any("THE DEMO SERVICE STANDS IN" in w for w in warnings), warnings
    # Built from the collection's directory: nothing copied into the workspace.
    workspace = tmp_path / "workspace"
    assert sorted(p.name for p in workspace.iterdir()) == [".env", "deploy"]
    assert (workspace / "deploy/build/auth-service/auth-service").is_file()


@pytest.mark.parametrize("how", ["strict=true", "devtools_service_source=git"])
def test_strict_and_git_never_fall_back_to_the_demo(playbook, tmp_path, how):
    git = tmp_path / "git"
    git.mkdir()
    result, report = run(playbook, tmp_path, git, "-e", how)
    if how == "strict=true":
        assert result.returncode != 0
        assert "no Go module (go.mod) under" in result.stdout, result.stdout[-3000:]
        return
    assert result.returncode == 0, result.stdout[-4000:]
    out = shown(report)
    assert out["demo"] is False and out["services"] == []
    assert {r["state"] for r in out["outcomes"]["rows"]} == {"not cloned"}
