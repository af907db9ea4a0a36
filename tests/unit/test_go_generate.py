"""go_generate's pure logic: the steps checked, the commands they make, what they read and
write, and when a step is skipped (with a stand-in generator: a shell script that writes a
file and notes each start). tests/integration/test_go_generate.py runs the real protoc and
swag."""

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_generate import (
    GenerateError,
    first_lines,
    generate_all,
    normalize_steps,
    plan,
    tools_path,
)

REPO = Path(__file__).resolve().parents[2]
AUTH_PROTOC = {
    "tool": "protoc",
    "chdir": "server/proto",
    "include": [".", "~/.local/share/vhvcorp-devtools/protos"],
    "files": ["*.proto"],
    "plugins": [
        {"name": "go", "out": "../internal/pb", "opt": ["paths=source_relative"]},
        {"name": "go-grpc", "out": "../internal/pb", "opt": ["paths=source_relative"]},
        {
            "name": "grpc-gateway",
            "out": "../internal/pb",
            "opt": ["paths=source_relative", "logtostderr=true"],
        },
    ],
}


def files(root: Path, paths: dict) -> Path:
    for path, text in paths.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def test_protoc_command_as_auths_proto_makefile_runs_it(tmp_path):
    catalog = yaml.safe_load((REPO / "group_vars/all/services.yml").read_text())
    (auth,) = [s for s in catalog["devtools_services"] if s["name"] == "auth-service"]
    assert auth["generate"] == [AUTH_PROTOC], "the catalog's default is the step tested here"
    (step,) = normalize_steps([AUTH_PROTOC], "devtools_services[auth-service].generate")
    proto = files(tmp_path, {"b.proto": "", "a.proto": "", "stubs.go": "", "sub/c.proto": ""})
    planned = plan(step, str(proto))
    assert planned["argv"] == [
        "protoc",
        "-I.",
        "-I" + os.path.expanduser("~/.local/share/vhvcorp-devtools/protos"),
        "--go_out=../internal/pb",
        "--go_opt=paths=source_relative",
        "--go-grpc_out=../internal/pb",
        "--go-grpc_opt=paths=source_relative",
        "--grpc-gateway_out=../internal/pb",
        "--grpc-gateway_opt=paths=source_relative",
        "--grpc-gateway_opt=logtostderr=true",
        "a.proto",
        "b.proto",
    ]
    assert planned["binaries"] == [
        "protoc",
        "protoc-gen-go",
        "protoc-gen-go-grpc",
        "protoc-gen-grpc-gateway",
    ]
    assert planned["inputs"] == ["a.proto", "b.proto"]
    assert planned["outputs"] == ["../internal/pb"]


def test_protoc_builtin_generators_need_no_plugin_and_inputs_add_files(tmp_path):
    (step,) = normalize_steps(
        [
            {
                "tool": "protoc",
                "files": ["api/**/*.proto"],
                "plugins": [{"name": "python", "out": "py"}],
                "args": ["--experimental_allow_proto3_optional"],
                "inputs": ["buf.yaml"],
            }
        ],
        "g",
    )
    root = files(tmp_path, {"api/v1/x.proto": "", "api/y.proto": "", "buf.yaml": ""})
    planned = plan(step, str(root))
    assert planned["argv"] == [
        "protoc",
        "-I.",
        "--python_out=py",
        "--experimental_allow_proto3_optional",
        "api/v1/x.proto",
        "api/y.proto",
    ]
    assert planned["binaries"] == ["protoc"]
    assert planned["inputs"] == ["api/v1/x.proto", "api/y.proto", "buf.yaml"]


def test_swag_command_reads_every_go_file_but_its_output(tmp_path):
    (step,) = normalize_steps([{"tool": "swag", "main": "cmd/main.go"}], "g")
    assert step == {
        "tool": "swag",
        "chdir": ".",
        "inputs": [],
        "main": "cmd/main.go",
        "output": "docs",
        "args": [],
    }
    root = files(
        tmp_path, {"cmd/main.go": "", "internal/h.go": "", "docs/docs.go": "", "go.mod": ""}
    )
    planned = plan(step, str(root))
    assert planned["argv"] == ["swag", "init", "-g", "cmd/main.go", "-o", "docs"]
    assert planned["inputs"] == ["cmd/main.go", "internal/h.go"]
    assert planned["outputs"] == ["docs"]


def test_a_command_step_runs_its_argv(tmp_path):
    (step,) = normalize_steps(
        [{"tool": "command", "command": ["go", "generate", "./..."], "outputs": ["gen"]}], "g"
    )
    planned = plan(step, str(tmp_path))
    assert (planned["argv"], planned["binaries"]) == (["go", "generate", "./..."], ["go"])
    assert (planned["inputs"], planned["outputs"]) == ([], ["gen"])


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ({"tool": "protoc"}, "g is {'tool': 'protoc'}; give a list of steps"),
        ([{"tool": "buf"}], "g[0].tool is 'buf'; choose one of protoc, swag, command."),
        ([{"tool": "swag", "out": "docs"}], "g[0] has out, which a swag step does not take"),
        ([{"tool": "swag", "chdir": "/abs"}], "g[0].chdir is '/abs'; give a path relative"),
        ([{"tool": "protoc", "plugins": [{"name": "go", "out": "."}]}], "g[0].files is empty"),
        ([{"tool": "protoc", "files": ["*.proto"]}], "g[0].plugins is empty"),
        (
            [{"tool": "protoc", "files": ["*.proto"], "plugins": [{"name": "go"}]}],
            "g[0].plugins[0] is {'name': 'go'}; give a name and an out",
        ),
        ([{"tool": "command", "command": "make proto"}], "g[0].command is 'make proto'; give"),
        ([{"tool": "swag", "args": "--parseDependency"}], "g[0].args is '--parseDependency'"),
    ],
)
def test_wrong_steps_are_refused_quoting_the_value(steps, message):
    with pytest.raises(GenerateError) as error:
        normalize_steps(steps, "g")
    assert str(error.value).startswith(message)


FAKE_GENERATOR = """#!/bin/sh
echo run >> "$(dirname "$0")/starts.log"
mkdir -p out && cat in/*.txt > out/all.txt
"""


@pytest.fixture
def fake(tmp_path) -> tuple[dict, list, Path]:
    """A clone whose one step concatenates in/*.txt into out/all.txt, with `gen` counting."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gen").write_text(FAKE_GENERATOR)
    os.chmod(bin_dir / "gen", 0o700)
    clone = files(tmp_path / "clone", {"in/a.txt": "a\n", "in/b.txt": "b\n"})
    steps = normalize_steps(
        [{"tool": "command", "command": ["gen"], "inputs": ["in/*.txt"], "outputs": ["out"]}], "g"
    )
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    return env, [{"name": "svc", "chdir": str(clone), "steps": steps}], tmp_path


def starts(root: Path) -> int:
    log = root / "bin/starts.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_a_step_runs_again_only_when_an_input_or_an_output_changed(fake):
    env, services, root = fake
    state = str(root / "state")
    statuses = lambda: [r["status"] for r in generate_all(services, state, env)]  # noqa: E731
    assert statuses() == ["generated"] and starts(root) == 1
    assert (root / "clone/out/all.txt").read_text() == "a\nb\n"
    assert statuses() == ["unchanged"] and starts(root) == 1

    (root / "clone/in/c.txt").write_text("c\n")  # a new input
    assert statuses() == ["generated"] and starts(root) == 2
    (root / "clone/in/a.txt").write_text("A, longer\n")  # an input's size and time
    assert statuses() == ["generated"] and starts(root) == 3
    (root / "clone/out/all.txt").write_text("edited by hand\n")  # an output
    assert statuses() == ["generated"] and starts(root) == 4
    assert (root / "clone/out/all.txt").read_text() == "A, longer\nb\nc\n"
    (root / "clone/out/all.txt").unlink()  # an output deleted
    assert statuses() == ["generated"] and starts(root) == 5
    assert statuses() == ["unchanged"] and starts(root) == 5

    # Another command line is another step.
    services[0]["steps"][0]["command"] = ["gen", "--verbose"]
    assert statuses() == ["generated"] and starts(root) == 6
    # The state is kept outside the clone, one file per service.
    assert sorted(p.name for p in (root / "state").iterdir()) == ["svc.json"]


def test_a_failed_step_stops_its_service_and_is_tried_again(fake):
    env, services, root = fake
    services[0]["steps"] = normalize_steps(
        [
            {"tool": "command", "command": ["sh", "-c", "echo first line >&2; exit 3"]},
            {"tool": "command", "command": ["gen"], "outputs": ["out"]},
        ],
        "g",
    )
    (result,) = generate_all(services, str(root / "state"), env)
    assert result["status"] == "failed"
    assert result["error"].startswith("svc: `sh -c echo first line >&2; exit 3` in ")
    assert "failed (exit 3):\nfirst line\n" in result["error"]
    assert [s["status"] for s in result["steps"]] == ["failed"]
    assert starts(root) == 0, "the later step does not run"
    (again,) = generate_all(services, str(root / "state"), env)
    assert again["status"] == "failed", "a failure is never remembered as done"


def test_check_mode_runs_nothing_and_says_what_would_run(fake):
    env, services, root = fake
    (preview,) = generate_all(services, str(root / "state"), env, check_mode=True)
    assert (preview["status"], preview["changed"]) == ("generated", True)
    assert [s["status"] for s in preview["steps"]] == ["would_run"]
    assert starts(root) == 0 and not (root / "state").exists()
    generate_all(services, str(root / "state"), env)
    (preview,) = generate_all(services, str(root / "state"), env, check_mode=True)
    assert (preview["status"], preview["changed"]) == ("unchanged", False)
    # Before the tools are installed (go_tools would, in the same check run): would run.
    env = dict(env, PATH="/nonexistent")
    (preview,) = generate_all(services, str(root / "state"), env, check_mode=True)
    assert (preview["status"], preview["error"]) == ("generated", None)


def test_a_step_directory_or_files_missing_from_the_clone_is_named(fake):
    env, services, root = fake
    services[0]["steps"] = normalize_steps(
        [
            {
                "tool": "protoc",
                "chdir": "proto",
                "files": ["*.proto"],
                "plugins": [AUTH_PROTOC["plugins"][0]],
            }
        ],
        "g",
    )
    (result,) = generate_all(services, str(root / "state"), env)
    assert result["error"].startswith("svc: the protoc step's directory proto is not in the clone")
    (root / "clone/proto").mkdir()
    (result,) = generate_all(services, str(root / "state"), env)
    assert result["error"].startswith("svc: the protoc step finds no files matching *.proto in")


def test_tools_dir_goes_first_on_path_once():
    assert tools_path("/usr/bin:/bin", "/home/dev/go/bin") == "/home/dev/go/bin:/usr/bin:/bin"
    assert tools_path("/home/dev/go/bin:/bin", "/home/dev/go/bin") == "/home/dev/go/bin:/bin"
    assert tools_path("/bin", None) == "/bin"


def test_first_lines_keep_the_start_of_the_output():
    text = "\n".join(f"line {n}" for n in range(40))
    assert first_lines(text).splitlines() == [f"line {n}" for n in range(15)]
    assert first_lines("\n\n  \nerror: x\n") == "error: x"


def test_generated_files_do_not_make_a_clone_dirty(fake):
    """The repositories role leaves a dirty clone alone: generated files, untracked, are
    listed in the clone's .git/info/exclude, once, and a tracked file stays visible."""
    env, services, root = fake
    clone = root / "clone"

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(clone), *args], capture_output=True, text=True, check=True
        ).stdout

    git("init", "-q")
    git("add", "in")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "inputs")
    generate_all(services, str(root / "state"), env)
    assert git("status", "--porcelain") == ""
    (clone / "in/a.txt").write_text("changed\n")
    generate_all(services, str(root / "state"), env)
    assert git("status", "--porcelain") == " M in/a.txt\n"
    exclude = (clone / ".git/info/exclude").read_text()
    assert exclude.count("\n/out\n") == 1, exclude
