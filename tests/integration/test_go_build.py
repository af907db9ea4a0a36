"""go_build with the real go of this machine, on small Go modules written by the test."""

import os
import shutil
from pathlib import Path

import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_build import (
    GoBuildError,
    build_all,
    missing_modules,
    sha1_of,
)

GO = "/usr/local/go/bin/go"
ENV = {"CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}


def go_module(root: Path, name: str, greeting: str) -> Path:
    source = root / name
    (source / "cmd/server").mkdir(parents=True, exist_ok=True)
    (source / "go.mod").write_text(f"module example.com/{name}\n\ngo 1.21\n")
    (source / "cmd/server/main.go").write_text(
        f'package main\n\nimport "fmt"\n\nfunc main() {{ fmt.Println("{greeting}") }}\n'
    )
    return source


def builds(root: Path, *names: str) -> list[dict]:
    return [
        {
            "name": name,
            "chdir": str(root / name),
            "package": "./cmd/server",
            "output": str(root / "build" / name / "server"),
        }
        for name in names
    ]


@pytest.fixture(scope="module")
def go() -> str:
    if not os.access(GO, os.X_OK):
        pytest.fail(f"{GO} is missing: this machine's Go toolchain is part of the environment.")
    return GO


class CountingGo:
    """A go command that notes each start in a log, then runs the real go."""

    def __init__(self, directory: Path, real: str):
        self.log = directory / "go-starts.log"
        self.path = str(directory / "go")
        Path(self.path).write_text(f'#!/bin/sh\necho "$*" >> {self.log}\nexec {real} "$@"\n')
        os.chmod(self.path, 0o700)

    def starts(self) -> int:
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0


def test_build_rerun_change_and_check_mode(go, tmp_path):
    counter = CountingGo(tmp_path, go)
    go = counter.path
    go_module(tmp_path, "one", "hello")
    go_module(tmp_path, "two", "bonjour")
    wanted = builds(tmp_path, "one", "two")

    preview = build_all(go, wanted, environment=ENV, check_mode=True)
    assert [(r["changed"], r["sha1"]) for r in preview] == [(True, None), (True, None)]
    assert not (tmp_path / "build").exists()

    first = build_all(go, wanted, environment=ENV)
    assert [r["changed"] for r in first] == [True, True]
    binary = tmp_path / "build/one/server"
    assert first[0]["sha1"] == sha1_of(binary)
    inode = binary.stat().st_ino

    again = build_all(go, wanted, environment=ENV)
    assert [r["changed"] for r in again] == [False, False]
    assert [r["sha1"] for r in again] == [r["sha1"] for r in first]
    assert binary.stat().st_ino == inode  # up to date: go did not even relink
    assert sorted(p.name for p in binary.parent.iterdir()) == ["server"]
    # The binaries carry the fingerprint of their inputs: with nothing changed, go is not
    # even started.
    starts = counter.starts()
    assert [r["changed"] for r in build_all(go, wanted, environment=ENV)] == [False, False]
    assert counter.starts() == starts

    go_module(tmp_path, "one", "hello, world")
    changed = build_all(go, wanted, environment=ENV)
    assert [r["changed"] for r in changed] == [True, False]
    assert changed[0]["sha1"] != first[0]["sha1"]

    preview = build_all(go, wanted, environment=ENV, check_mode=True)
    assert [(r["changed"], r["sha1"]) for r in preview] == [
        (False, changed[0]["sha1"]),
        (False, first[1]["sha1"]),
    ]


def test_fingerprint_follows_sources_replaced_modules_flags_and_bytes(go, tmp_path):
    counter = CountingGo(tmp_path, go)
    go = counter.path

    def go_started(environment=ENV, **kwargs) -> bool:
        before = counter.starts()
        build_all(go, wanted, environment=environment, **kwargs)
        return counter.starts() > before

    go_module(tmp_path, "one", "hello")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "go.mod").write_text("module example.com/shared\n\ngo 1.21\n")
    (shared / "shared.go").write_text('package shared\n\nconst Word = "one"\n')
    with (tmp_path / "one/go.mod").open("a") as go_mod:
        go_mod.write(
            "\nrequire example.com/shared v0.0.0\n\nreplace example.com/shared => ../shared\n"
        )
    (tmp_path / "one/cmd/server/main.go").write_text(
        'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/shared"\n)\n\n'
        "func main() { fmt.Println(shared.Word) }\n"
    )
    wanted = builds(tmp_path, "one")
    first = build_all(go, wanted, environment=ENV)[0]
    assert not go_started()

    # A change in the replaced module's directory is a change of the program's inputs.
    (shared / "shared.go").write_text('package shared\n\nconst Word = "two"\n')
    second = build_all(go, wanted, environment=ENV)[0]
    assert second["changed"] and second["sha1"] != first["sha1"]
    assert not go_started()

    # Other flags, or a binary whose bytes are not what was built, start go again.
    assert go_started(flags=["-trimpath", "-buildvcs=false"])
    assert go_started()  # back to the default flags
    assert not go_started()
    binary = Path(second["output"])
    program = bytearray(binary.read_bytes())
    program[len(program) // 2] ^= 0xFF
    binary.write_bytes(program)
    assert go_started()

    # Under a go.work, which may bring in other modules, go always runs.
    (tmp_path / "go.work").write_text("go 1.21\n\nuse (\n\t./one\n\t./shared\n)\n")
    in_workspace = {**ENV, "GOFLAGS": ""}  # -mod=mod is refused in workspace mode
    assert go_started(environment=in_workspace)
    assert go_started(environment=in_workspace)


def test_missing_module_and_compile_error(go, tmp_path):
    go_module(tmp_path, "one", "hello")
    (tmp_path / "empty").mkdir()
    assert [b["name"] for b in missing_modules(builds(tmp_path, "one", "empty"))] == ["empty"]

    (tmp_path / "one/cmd/server/main.go").write_text("package main\n\nfunc main() { nope() }\n")
    with pytest.raises(GoBuildError, match=r"(?s)`go build ./cmd/server` of one .*undefined: nope"):
        build_all(go, builds(tmp_path, "one"), environment=ENV)
    assert sorted(p.name for p in (tmp_path / "build/one").iterdir()) == []


def test_a_library_resolves_to_its_clone_through_the_build_s_own_go_work(go, tmp_path, repo_root):
    """The stand-in requires the demo library through `replace ... => ../../demo-shared`,
    a path written for another layout (as go-shared's in the platform's services): from its
    clone's root it points out of the workspace. It builds only through the go.work that
    go_build writes for it (workfile + replace), and reruns stay fast and follow the
    library's changes."""
    counter = CountingGo(tmp_path, go)
    files = repo_root / "roles/stack/files"
    workspace = tmp_path / "ws"
    shutil.copytree(files / "demo-service", workspace / "go-user-service")
    shutil.copytree(files / "demo-shared", workspace / "demo-shared")
    env = {"CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly", "GOTOOLCHAIN": "local"}
    plain = {
        "name": "user-service",
        "chdir": str(workspace / "go-user-service"),
        "package": "./cmd",
        "output": str(tmp_path / "build/user-service/user-service"),
    }
    workfile = tmp_path / "build/user-service/go.work"
    wanted = [
        dict(
            plain,
            workfile=str(workfile),
            replace={"github.com/vhvcorp/demo-shared": str(workspace / "demo-shared")},
        )
    ]

    # Without the go.work: the go.mod's own replace, which does not resolve.
    with pytest.raises(GoBuildError, match="replacement directory ../../demo-shared does not"):
        build_all(go, [plain], environment=env)

    first = build_all(counter.path, wanted, environment=env)[0]
    assert first["changed"] and first["sha1"] == sha1_of(plain["output"])
    assert workfile.read_text() == (
        "// Written by vhvcorp.devtools' go_build for this build; rewritten on every build.\n"
        "go 1.24\n\n"
        f"use {workspace}/go-user-service\n"
        f"replace github.com/vhvcorp/demo-shared => {workspace}/demo-shared\n"
    )

    def go_started() -> bool:
        before = counter.starts()
        build_all(counter.path, wanted, environment=env)
        return counter.starts() > before

    # Under its own go.work the build has a fingerprint: a rerun starts no go.
    assert not go_started()
    # The library's files are inputs: a change there is rebuilt into new bytes.
    ports = workspace / "demo-shared/ports/ports.go"
    ports.write_text(ports.read_text().replace("is not a port", "is no port"))
    second = build_all(counter.path, wanted, environment=env)[0]
    assert second["changed"] and second["sha1"] != first["sha1"]
    assert not go_started()
    # A go.work removed is written again (the same text: nothing to build).
    workfile.unlink()
    assert not go_started() and workfile.is_file()

    # A module that does not require the library builds as it is, in module mode: no
    # go.work (a stale one is removed), so a GOFLAGS=-mod=mod of the user's still works.
    go_module(tmp_path, "plain", "hello")
    other = dict(builds(tmp_path, "plain")[0], workfile=str(tmp_path / "build/plain/go.work"))
    other["replace"] = wanted[0]["replace"]
    Path(other["workfile"]).parent.mkdir(parents=True, exist_ok=True)
    Path(other["workfile"]).write_text("go 1.24\n")
    assert build_all(go, [other], environment=dict(env, GOFLAGS="-mod=mod"))[0]["changed"]
    assert not Path(other["workfile"]).exists()


def test_fail_on_error_false_reports_each_failure_and_builds_the_others(go, tmp_path):
    go_module(tmp_path, "good", "hello")
    go_module(tmp_path, "broken", "hello")
    (tmp_path / "broken/cmd/server/main.go").write_text(
        'package main\n\nfunc main() { var n int = "text"; _ = n }\n'
    )
    good, broken = builds(tmp_path, "good", "broken")
    results = build_all(go, [good, broken], environment=ENV, fail_on_error=False)

    assert [r["name"] for r in results] == ["good", "broken"]
    assert results[0]["sha1"] == sha1_of(good["output"]) and "error" not in results[0]
    failure = results[1]
    assert failure["sha1"] is None and failure["changed"] is False
    # The compiler's first lines: the package, then the error with file and line.
    first, second = failure["error"].splitlines()[:2]
    assert first == "# example.com/broken/cmd/server"
    assert second.startswith("cmd/server/main.go:3:") and '"text"' in second
    assert "`go build ./cmd/server` of broken" in failure["msg"]
    assert not Path(broken["output"]).exists()

    # The default still stops at the first failure.
    with pytest.raises(GoBuildError, match="of broken"):
        build_all(go, [broken], environment=ENV)
