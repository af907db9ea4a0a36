"""create-service.yml through `make create-service`, as users type it: a new service's
repository in a workspace of the test's own (the template's Go module, one commit), its
entry in the catalog of a config.yml of the test's own (DEVTOOLS_CONFIG), then, as the next
start would, the catalog normalised and the service compiled with go_build (`make
build-service`), its tests run (`make test-platform-unit`) and the binary started: /ready
and /metrics answer. Nothing else is started."""

import socket
import subprocess
import time
import urllib.request

import pytest
import yaml

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def made(make, tmp_path_factory):
    root = tmp_path_factory.mktemp("create-service")
    workspace = root / "ws"
    workspace.mkdir()
    (workspace / ".env").write_text("LOG_LEVEL=info\n")
    env = {"DEVTOOLS_CONFIG": str(root / "config.yml")}
    (root / "config.yml").write_text(
        "# mine\ndevtools_stack_profile: custom\ndevtools_stack_custom_components: []\n"
    )
    args = {"ARGS": f"-e workspace={workspace}"}
    run = make("create-service", env=env, NAME="billing-service", **args)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return {"root": root, "workspace": workspace, "env": env, "args": args, "run": run}


def test_the_repository_is_made_with_one_commit(made):
    clone = made["workspace"] / "go-billing-service"
    for path in ("go.mod", "go.sum", "cmd/main.go", "cmd/main_test.go", "README.md"):
        assert (clone / path).is_file(), path
    log = subprocess.run(
        ["git", "log", "--format=%s"], cwd=clone, capture_output=True, text=True, check=True
    )
    assert log.stdout.splitlines() == [
        "billing-service: skeleton from vhvcorp.devtools create-service"
    ]


def test_the_catalog_entry_is_in_config_yml_with_the_defaults_and_the_users_lines(made):
    text = (made["root"] / "config.yml").read_text()
    assert text.startswith("# mine\ndevtools_stack_profile: custom\n")  # the user's lines kept
    services = yaml.safe_load(text)["devtools_services"]
    names = [s["name"] for s in services]
    assert names[-1] == "billing-service" and "auth-service" in names and len(names) == 7
    entry = services[-1]
    # The first HTTP port after the catalog's (8080-8085) that nothing uses.
    assert entry["http_port"] == 8086 and entry["build"] == {
        "package": "./cmd",
        "binary": "billing-service",
    }


def test_a_rerun_changes_nothing_and_a_taken_name_is_refused(make, made):
    again = make("create-service", env=made["env"], NAME="billing-service", **made["args"])
    assert again.returncode == 0 and " changed=0 " in again.stdout, again.stdout[-3000:]
    taken = make("create-service", env=made["env"], NAME="auth-service", **made["args"])
    assert taken.returncode != 0
    assert "has a service named auth-service" in " ".join(taken.stdout.split())


def test_the_next_start_builds_it_and_it_answers(make, made):
    args = dict(made["args"], ARGS=made["args"]["ARGS"] + " -e stack_validate=false")
    built = make("build-service", env=made["env"], SERVICE="billing-service", **args)
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-2000:]
    tested = make("test-platform-unit", env=made["env"], SERVICE="billing-service", **args)
    assert tested.returncode == 0, tested.stdout[-3000:]
    assert "billing-service  passed" in tested.stdout

    binary = made["workspace"] / "deploy" / "build" / "billing-service" / "billing-service"
    port = free_port()
    proc = subprocess.Popen(
        [binary], env={"BILLING_SERVICE_PORT": str(port)}, stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as r:
                    assert r.status == 200
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            assert b"http_requests_total" in r.read()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
