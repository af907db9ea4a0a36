"""go_build with the real go of this machine, on small Go modules written by the test."""

import os
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


def test_build_rerun_change_and_check_mode(go, tmp_path):
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

    go_module(tmp_path, "one", "hello, world")
    changed = build_all(go, wanted, environment=ENV)
    assert [r["changed"] for r in changed] == [True, False]
    assert changed[0]["sha1"] != first[0]["sha1"]

    preview = build_all(go, wanted, environment=ENV, check_mode=True)
    assert [(r["changed"], r["sha1"]) for r in preview] == [
        (False, changed[0]["sha1"]),
        (False, first[1]["sha1"]),
    ]


def test_missing_module_and_compile_error(go, tmp_path):
    go_module(tmp_path, "one", "hello")
    (tmp_path / "empty").mkdir()
    assert [b["name"] for b in missing_modules(builds(tmp_path, "one", "empty"))] == ["empty"]

    (tmp_path / "one/cmd/server/main.go").write_text("package main\n\nfunc main() { nope() }\n")
    with pytest.raises(GoBuildError, match=r"(?s)`go build ./cmd/server` of one .*undefined: nope"):
        build_all(go, builds(tmp_path, "one"), environment=ENV)
    assert sorted(p.name for p in (tmp_path / "build/one").iterdir()) == []
