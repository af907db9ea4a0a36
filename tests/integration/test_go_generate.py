"""go_generate with real generators: Debian's protoc, and protoc-gen-go, protoc-gen-go-grpc,
protoc-gen-grpc-gateway and swag built from the Go module proxy at the go_tools role's pinned
versions, with googleapis' protos as the go_tools role unpacks them from PyPI.

The plugins are built once into the harness's state directory (go_install skips a binary
already built from the same package and version, so a rerun builds nothing), and the code
they generate is compiled with this machine's go in a small Go module written by the test.
"""

import contextlib
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import docker
import pytest
import yaml
from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_generate import (
    generate_all,
    normalize_steps,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_install import (
    GoInstaller,
    ensure_tools,
    normalize_tools,
)

GO = "/usr/local/go/bin/go"
GO_ENV = {"GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
PLUGINS = ("protoc-gen-go", "protoc-gen-go-grpc", "protoc-gen-grpc-gateway", "swag")

GREETER_PROTO = """syntax = "proto3";
package greeter.v1;
option go_package = "example.com/greeter/internal/pb;pb";
import "google/protobuf/timestamp.proto";
service Greeter { rpc Hello(HelloRequest) returns (HelloReply); }
message HelloRequest { string name = 1; }
message HelloReply { string message = 1; google.protobuf.Timestamp at = 2; }
"""

GREETER_MAIN = """package main

import (
\t"fmt"

\t"example.com/greeter/internal/pb"
)

func main() {
\tvar _ pb.GreeterServer = pb.UnimplementedGreeterServer{}
\tfmt.Println((&pb.HelloRequest{Name: "gopher"}).GetName())
}
"""

# protoc as auth's server/proto/Makefile runs it (without the gateway, whose code needs
# googleapis' protos): from the proto directory into ../internal/pb.
PROTOC_STEP = {
    "tool": "protoc",
    "chdir": "proto",
    "include": ["."],
    "files": ["*.proto"],
    "plugins": [
        {"name": "go", "out": "../internal/pb", "opt": ["paths=source_relative"]},
        {"name": "go-grpc", "out": "../internal/pb", "opt": ["paths=source_relative"]},
    ],
}


@pytest.fixture(scope="module")
def tools_dir(harness_state) -> Path:
    """protoc-gen-go, protoc-gen-go-grpc and swag at go_tools' pinned versions, built once."""
    if not shutil.which("protoc"):
        pytest.fail("protoc is missing: `make harness` installs Debian's protobuf-compiler.")
    defaults = Path(__file__).resolve().parents[2] / "roles/go_tools/defaults/main.yml"
    pinned = [
        t for t in yaml.safe_load(defaults.read_text())["go_tools_list"] if t["name"] in PLUGINS
    ]
    assert sorted(t["name"] for t in pinned) == sorted(PLUGINS)
    gobin = Path(os.environ.get("DEVTOOLS_STATE_DIR", Path.home() / ".cache/vhvcorp-devtools"))
    gobin = gobin / "bin" / "codegen"
    result = ensure_tools(GoInstaller(GO), normalize_tools(pinned), str(gobin))
    assert result["failed"] == [], result["failed"]
    return gobin


def greeter(root: Path) -> Path:
    module = root / "greeter"
    (module / "proto").mkdir(parents=True)
    (module / "cmd/greeter").mkdir(parents=True)
    (module / "go.mod").write_text(
        "module example.com/greeter\n\ngo 1.24\n\nrequire (\n"
        "\tgoogle.golang.org/grpc v1.85.0\n\tgoogle.golang.org/protobuf v1.36.12\n)\n"
    )
    (module / "proto/greeter.proto").write_text(GREETER_PROTO)
    (module / "cmd/greeter/main.go").write_text(GREETER_MAIN)
    return module


class CountingTool:
    """A directory with a `protoc` that notes each start, then runs the real one."""

    def __init__(self, directory: Path, name: str):
        directory.mkdir()
        self.dir, self.log = directory, directory / f"{name}.log"
        real = shutil.which(name)
        (directory / name).write_text(f'#!/bin/sh\necho "$*" >> {self.log}\nexec {real} "$@"\n')
        os.chmod(directory / name, 0o700)

    def starts(self) -> int:
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0


def env_with(*dirs: Path) -> dict:
    return dict(os.environ, PATH=os.pathsep.join([*map(str, dirs), os.environ["PATH"]]))


def go_build(module: Path, package: str, output: Path) -> str:
    built = subprocess.run(
        [GO, "build", "-o", str(output), package],
        cwd=module,
        env=dict(os.environ, **GO_ENV),
        check=False,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    return subprocess.run([str(output)], capture_output=True, text=True, check=True).stdout


def test_protoc_code_builds_and_a_rerun_starts_nothing(tools_dir, tmp_path):
    module = greeter(tmp_path)
    protoc = CountingTool(tmp_path / "counting", "protoc")
    env = env_with(protoc.dir, tools_dir)
    state = tmp_path / "state"
    services = [
        {"name": "greeter", "chdir": str(module), "steps": normalize_steps([PROTOC_STEP], "g")}
    ]

    preview = generate_all(services, str(state), env, check_mode=True)
    assert preview[0]["status"] == "generated" and preview[0]["changed"]
    assert [s["status"] for s in preview[0]["steps"]] == ["would_run"]
    assert protoc.starts() == 0 and not (module / "internal").exists() and not state.exists()

    (first,) = generate_all(services, str(state), env)
    assert (first["status"], first["error"]) == ("generated", None)
    assert first["steps"][0]["argv"] == [
        "protoc",
        "-I.",
        "--go_out=../internal/pb",
        "--go_opt=paths=source_relative",
        "--go-grpc_out=../internal/pb",
        "--go-grpc_opt=paths=source_relative",
        "greeter.proto",
    ]
    generated = sorted(p.name for p in (module / "internal/pb").iterdir())
    assert generated == ["greeter.pb.go", "greeter_grpc.pb.go"]
    assert go_build(module, "./cmd/greeter", tmp_path / "bin/greeter") == "gopher\n"
    mtimes = {p: p.stat().st_mtime_ns for p in (module / "internal/pb").iterdir()}

    (again,) = generate_all(services, str(state), env)
    assert (again["status"], again["changed"]) == ("unchanged", False)
    assert protoc.starts() == 1, "nothing changed: protoc must not run again"
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    (check,) = generate_all(services, str(state), env, check_mode=True)
    assert (check["status"], check["changed"]) == ("unchanged", False)

    # A changed .proto, then a deleted generated file: each runs protoc once more.
    (module / "proto/greeter.proto").write_text(
        GREETER_PROTO.replace("string name = 1;", "string name = 1; string greeting = 2;")
    )
    assert generate_all(services, str(state), env)[0]["status"] == "generated"
    assert "GetGreeting" in (module / "internal/pb/greeter.pb.go").read_text()
    (module / "internal/pb/greeter_grpc.pb.go").unlink()
    assert generate_all(services, str(state), env)[0]["status"] == "generated"
    assert (module / "internal/pb/greeter_grpc.pb.go").is_file()
    assert protoc.starts() == 3
    assert generate_all(services, str(state), env)[0]["status"] == "unchanged"
    assert go_build(module, "./cmd/greeter", tmp_path / "bin/greeter") == "gopher\n"


ROUTED_PROTO = """syntax = "proto3";
package greeter.v1;
option go_package = "example.com/greeter/internal/pb;pb";
import "google/api/annotations.proto";
service Greeter {
  rpc Hello(HelloRequest) returns (HelloReply) {
    option (google.api.http) = {post: "/v1/hello" body: "*"};
  }
}
message HelloRequest { string name = 1; }
message HelloReply { string message = 1; }
"""

ROUTED_MAIN = """package main

import (
\t"fmt"

\t"example.com/greeter/internal/pb"
\t"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

func main() {
\tmux := runtime.NewServeMux()
\terr := pb.RegisterGreeterHandlerServer(nil, mux, pb.UnimplementedGreeterServer{})
\tfmt.Println("routed", err == nil)
}
"""


def test_auths_protoc_step_compiles_protos_importing_googleapis_annotations(
    play_tasks, tools_dir, tmp_path
):
    """The catalog's auth step (go, go-grpc and grpc-gateway) on a proto that imports
    google/api/annotations.proto, with the include directory the go_tools role fills from
    the pinned googleapis-common-protos wheel; the generated gateway code compiles. A second
    run of the role fetches and unpacks nothing."""
    protos, cache = tmp_path / "protos", tmp_path / "wheels"
    install = {
        "ansible.builtin.include_role": {
            "name": "vhvcorp.devtools.go_tools",
            "tasks_from": "protos",
        },
        "vars": {"go_tools_proto_dir": str(protos), "go_tools_proto_cache_dir": str(cache)},
    }
    json_out = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}
    first = play_tasks([install], env=json_out)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr
    assert (protos / "google/api/annotations.proto").is_file()
    assert (protos / "google/api/http.proto").is_file()
    assert not list(protos.rglob("*.py")), "only the .proto files are unpacked"
    again = play_tasks([install], env=json_out)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr
    assert json.loads(again.stdout)["stats"]["localhost"]["changed"] == 0

    catalog = Path(__file__).resolve().parents[2] / "group_vars/all/services.yml"
    auth = next(
        s
        for s in yaml.safe_load(catalog.read_text())["devtools_services"]
        if s["name"] == "auth-service"
    )
    (step,) = auth["generate"]
    assert "~/.local/share/vhvcorp-devtools/protos" in step["include"]
    step = dict(
        step,
        chdir="proto",
        include=[str(protos) if i.startswith("~") else i for i in step["include"]],
    )
    module = greeter(tmp_path)
    (module / "go.mod").write_text(
        "module example.com/greeter\n\ngo 1.24\n\nrequire (\n"
        "\tgithub.com/grpc-ecosystem/grpc-gateway/v2 v2.34.0\n"
        "\tgoogle.golang.org/grpc v1.85.0\n\tgoogle.golang.org/protobuf v1.36.12\n)\n"
    )
    (module / "proto/greeter.proto").write_text(ROUTED_PROTO)
    (module / "cmd/greeter/main.go").write_text(ROUTED_MAIN)
    services = [
        {"name": "auth-service", "chdir": str(module), "steps": normalize_steps([step], "a")}
    ]
    (result,) = generate_all(services, str(tmp_path / "state"), env_with(tools_dir))
    assert (result["status"], result["error"]) == ("generated", None)
    assert sorted(p.name for p in (module / "internal/pb").iterdir()) == [
        "greeter.pb.go",
        "greeter.pb.gw.go",
        "greeter_grpc.pb.go",
    ]
    assert go_build(module, "./cmd/greeter", tmp_path / "bin/greeter") == "routed true\n"


def test_a_failure_names_the_service_and_protoc_lines_and_spares_the_others(tools_dir, tmp_path):
    good = greeter(tmp_path / "good")
    bad = greeter(tmp_path / "bad")
    (bad / "proto/greeter.proto").write_text(GREETER_PROTO.replace("string name", "strin name"))
    steps = normalize_steps([PROTOC_STEP], "g")
    services = [
        {"name": "bad-service", "chdir": str(bad), "steps": steps},
        {"name": "good-service", "chdir": str(good), "steps": steps},
        {"name": "gone-service", "chdir": str(tmp_path / "gone"), "steps": steps},
    ]
    env = env_with(tools_dir)
    broken, fine, gone = generate_all(services, str(tmp_path / "state"), env)
    assert broken["status"] == "failed"
    assert broken["error"].startswith("bad-service: `protoc -I. --go_out=../internal/pb")
    assert "greeter.proto:6:" in broken["error"] and '"strin" is not defined' in broken["error"]
    assert broken["steps"][0]["status"] == "failed"
    assert '"strin" is not defined' in broken["steps"][0]["output"]
    assert (fine["status"], fine["error"]) == ("generated", None)
    assert (gone["status"], gone["error"], gone["steps"]) == ("missing", None, [])

    # Fixed, it generates; a plugin missing from PATH is named with what to do.
    (bad / "proto/greeter.proto").write_text(GREETER_PROTO)
    no_plugins = dict(os.environ, PATH=os.path.dirname(shutil.which("protoc")))
    (result,) = generate_all(services[:1], str(tmp_path / "state"), no_plugins)
    assert result["status"] == "failed"
    assert "protoc-gen-go, protoc-gen-go-grpc not found on PATH" in result["error"]
    assert "setup.yml --tags go" in result["error"]
    assert generate_all(services[:1], str(tmp_path / "state"), env)[0]["status"] == "generated"


SWAG_MAIN = """package main

import (
\t"fmt"

\t"example.com/users/docs"
)

// @title Users API
// @version 1.0
// @BasePath /

// listUsers lists the users.
// @Summary List users
// @Produce json
// @Success 200 {array} string
// @Router /users [get]
func listUsers() {}

func main() {
\tlistUsers()
\tfmt.Println(docs.SwaggerInfo.Title)
}
"""


def test_swag_generates_the_docs_package_as_user_service_does(tools_dir, tmp_path):
    module = tmp_path / "users"
    (module / "cmd").mkdir(parents=True)
    (module / "go.mod").write_text(
        "module example.com/users\n\ngo 1.24\n\nrequire github.com/swaggo/swag v1.16.6\n"
    )
    (module / "cmd/main.go").write_text(SWAG_MAIN)
    steps = normalize_steps([{"tool": "swag", "main": "cmd/main.go", "output": "docs"}], "u")
    services = [{"name": "user-service", "chdir": str(module), "steps": steps}]
    env = env_with(tools_dir)

    (first,) = generate_all(services, str(tmp_path / "state"), env)
    assert first["status"] == "generated", first["error"]
    assert first["steps"][0]["argv"] == ["swag", "init", "-g", "cmd/main.go", "-o", "docs"]
    assert {p.name for p in (module / "docs").iterdir()} == {
        "docs.go",
        "swagger.json",
        "swagger.yaml",
    }
    assert '"/users"' in (module / "docs/swagger.json").read_text()
    assert go_build(module, "./cmd", tmp_path / "bin/users") == "Users API\n"
    assert generate_all(services, str(tmp_path / "state"), env)[0]["status"] == "unchanged"

    # A handler's comment is an input: changed, the docs are made again.
    (module / "cmd/main.go").write_text(SWAG_MAIN.replace("/users [get]", "/people [get]"))
    assert generate_all(services, str(tmp_path / "state"), env)[0]["status"] == "generated"
    assert '"/people"' in (module / "docs/swagger.json").read_text()


def test_the_module_reports_per_service_and_fails_only_when_asked(play_tasks, tools_dir, tmp_path):
    """Through Ansible: one task for all services; fail_on_error false hands back each
    service's outcome (the stack's table reads it), true fails naming the service."""
    good, bad = greeter(tmp_path / "good"), greeter(tmp_path / "bad")
    (bad / "proto/greeter.proto").write_text(GREETER_PROTO.replace("string name", "strin name"))
    task = {
        "vhvcorp.devtools.go_generate": {
            "state_dir": str(tmp_path / "state"),
            "tools_dir": str(tools_dir),
            "services": [
                {"name": "good-service", "chdir": str(good), "steps": [PROTOC_STEP]},
                {"name": "bad-service", "chdir": str(bad), "steps": [PROTOC_STEP]},
                {"name": "gone-service", "chdir": str(tmp_path / "gone"), "steps": [PROTOC_STEP]},
                {"name": "plain-service", "chdir": str(good), "steps": []},
            ],
            "fail_on_error": False,
        },
        "register": "generated",
    }
    check = {
        "ansible.builtin.assert": {
            "that": [
                "generated is changed",
                "generated.failed_services == ['bad-service']",
                "generated.missing == ['gone-service']",
                "generated.results | map(attribute='name') | list"
                " == ['good-service', 'bad-service', 'gone-service']",
                "generated.results | map(attribute='status') | list"
                " == ['generated', 'failed', 'missing']",
                "generated.results[1].error is search('strin')",
            ]
        }
    }
    run = play_tasks([task, check], env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    task["vhvcorp.devtools.go_generate"]["fail_on_error"] = True
    run = play_tasks([task], env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
    assert run.returncode != 0
    report = json.loads(run.stdout)
    (result,) = [t["hosts"]["localhost"] for p in report["plays"] for t in p["tasks"]]
    assert result["msg"].startswith("Code generation failed for bad-service:\nbad-service: `protoc")
    assert [r["status"] for r in result["results"]] == ["unchanged", "failed", "missing"]


def test_the_stack_generates_before_it_builds_and_a_rerun_does_neither(
    engine, playbook, stack_build_play, tools_dir, tmp_path
):
    """build-services.yml: go_generate (PATH given go's GOBIN, as go_tools installs there),
    then go_build and docker build of the image; the rerun runs no generator and changes
    nothing."""
    workspace = tmp_path / "ws"
    greeter(workspace)
    (workspace / ".env").write_text("LOG_LEVEL=info\n")
    namespace = f"gentest-{uuid.uuid4().hex[:8]}"
    engine.images.get("vhvcorp-local/debian:bookworm").tag(f"{namespace}/debian", "bookworm")
    service = {
        "name": "greeter",
        "repository": "greeter",
        "http_port": 8090,
        "grpc_port": None,
        "env_prefix": "GREETER",
        "health_path": "/ready",
        "depends_on": [],
        "metrics_path": None,
        "build": {"package": "./cmd/greeter", "binary": "greeter"},
        "generate": [PROTOC_STEP],
    }
    options = {
        "devtools_services": [service],
        "stack_workspace_dir": str(workspace),
        "stack_image_source": "local",
        "stack_profile": "custom",
        "stack_custom_components": [],
        "stack_project": namespace,
        "stack_local_namespace": namespace,
        "stack_validate": False,
    }
    # go_tools installs into go's GOBIN, where go_generate looks first.
    env = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "GOBIN": str(tools_dir)}
    env["GOFLAGS"] = "-mod=mod"  # the greeter has no go.sum

    def run() -> dict:
        done = playbook(str(stack_build_play), "-e", json.dumps(options), env=env)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
        report = json.loads(done.stdout)
        tasks = {
            t["task"]["name"].split(" : ")[-1]: t["hosts"]["localhost"]
            for p in report["plays"]
            for t in p["tasks"]
        }
        generate = next(v for k, v in tasks.items() if k.startswith("Generate the code"))
        return {"generate": generate, "stats": report["stats"]["localhost"]}

    try:
        first = run()
        assert first["generate"]["changed"] is True
        assert [r["status"] for r in first["generate"]["results"]] == ["generated"]
        assert first["generate"]["tools_dir"] == str(tools_dir)
        assert (workspace / "greeter/internal/pb/greeter_grpc.pb.go").is_file()
        assert engine.images.get(f"{namespace}/greeter:latest")

        again = run()
        assert again["generate"]["changed"] is False
        assert [r["status"] for r in again["generate"]["results"]] == ["unchanged"]
        assert again["stats"]["changed"] == 0, again["stats"]
    finally:
        for image in (f"{namespace}/greeter:latest", f"{namespace}/debian:bookworm"):
            with contextlib.suppress(docker.errors.ImageNotFound):
                engine.images.remove(image, force=True)
