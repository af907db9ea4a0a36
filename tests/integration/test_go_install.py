"""go_install with the real go of this machine, building a real tool from the Go module proxy.

The tool is github.com/a8m/envsubst (no dependencies, two releases: v1.4.2 and v1.4.3), so
a build takes seconds. Go's own module and build caches are used, as a developer's are.
"""

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_install import (
    GoInstaller,
    ensure_tools,
    normalize_tools,
)

GO = "/usr/local/go/bin/go"
PACKAGE = "github.com/a8m/envsubst/cmd/envsubst"


@pytest.fixture(scope="module")
def installer() -> GoInstaller:
    if not os.access(GO, os.X_OK):
        pytest.fail(f"{GO} is missing: this machine's Go toolchain is part of the environment.")
    return GoInstaller(GO)


def tools(version: str, **extra) -> list[dict]:
    return normalize_tools([dict({"package": PACKAGE, "version": version}, **extra)])


def built_version(binary: Path) -> str:
    out = subprocess.run(
        [GO, "version", "-m", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    return next(line.split("\t")[3] for line in out.splitlines() if line.startswith("\tmod\t"))


def run_envsubst(binary: Path) -> str:
    return subprocess.run(
        [str(binary)],
        input="hello $WHO\n",
        env={"WHO": "gopher", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_install_rerun_upgrade_and_check_mode(installer, tmp_path):
    gobin = tmp_path / "bin"
    binary = gobin / "envsubst"

    preview = ensure_tools(installer, tools("v1.4.2"), str(gobin), check_mode=True)
    assert preview["changed"] is True and preview["installed"] == ["envsubst"]
    assert not gobin.exists(), "check mode must not even create GOBIN"

    first = ensure_tools(installer, tools("v1.4.2"), str(gobin))
    assert first["changed"] is True
    assert first["tools"][0]["status"] == "installed"
    assert first["tools"][0]["previous_version"] is None
    assert built_version(binary) == "v1.4.2"
    assert run_envsubst(binary) == "hello gopher\n"
    assert [p.name for p in gobin.iterdir()] == ["envsubst"], "scratch dirs are cleaned up"

    started = time.monotonic()
    again = ensure_tools(installer, tools("v1.4.2"), str(gobin))
    elapsed = time.monotonic() - started
    assert again["changed"] is False
    assert again["unchanged"] == ["envsubst"] and again["installed"] == again["upgraded"] == []
    assert elapsed < 1.0, f"a rerun with nothing to build took {elapsed:.2f}s"

    mtime = binary.stat().st_mtime_ns
    would = ensure_tools(installer, tools("v1.4.3"), str(gobin), check_mode=True)
    assert would["changed"] is True and would["upgraded"] == ["envsubst"]
    assert binary.stat().st_mtime_ns == mtime and built_version(binary) == "v1.4.2"

    upgrade = ensure_tools(installer, tools("v1.4.3"), str(gobin))
    assert upgrade["upgraded"] == ["envsubst"]
    entry = upgrade["tools"][0]
    assert (entry["previous_version"], entry["version"]) == ("v1.4.2", "v1.4.3")
    assert entry["reason"] == "version v1.4.2 is installed, v1.4.3 is wanted"
    assert built_version(binary) == "v1.4.3"
    assert run_envsubst(binary) == "hello gopher\n"


def test_build_tags_are_recorded_and_a_tag_change_rebuilds(installer, tmp_path):
    gobin = tmp_path / "bin"
    plain = ensure_tools(installer, tools("v1.4.3"), str(gobin))
    assert plain["installed"] == ["envsubst"]
    tagged = ensure_tools(installer, tools("v1.4.3", tags=["netgo"]), str(gobin))
    assert tagged["upgraded"] == ["envsubst"]
    assert tagged["tools"][0]["reason"] == "built with tags [], ['netgo'] are wanted"
    assert ensure_tools(installer, tools("v1.4.3", tags=["netgo"]), str(gobin))["changed"] is False


def test_a_version_that_does_not_exist_fails_with_go_s_reason_and_what_to_do(installer, tmp_path):
    gobin = tmp_path / "bin"
    result = ensure_tools(installer, tools("v9.9.9"), str(gobin))
    assert result["changed"] is False
    assert result["tools"][0]["status"] == "failed"
    [message] = result["failed"]
    assert message.startswith(
        f"`go install {PACKAGE}@v9.9.9` failed for tool 'envsubst' (exit 1):\n"
    )
    assert "This module version is not available" in message  # go's own words, from the proxy
    assert "Check that version v9.9.9 exists" in message
    assert not (gobin / "envsubst").exists()
    assert list(gobin.iterdir()) == [], "the scratch dir of the failed build is removed"


PLAYBOOK = textwrap.dedent(
    """\
    - name: Run go_install as the go_tools role does.
      hosts: localhost
      gather_facts: false
      vars:
        wanted:
          - name: subst
            package: github.com/a8m/envsubst/cmd/envsubst
            version: v1.4.3
      tasks:
        - name: Preview.
          vhvcorp.devtools.go_install:
            go: "{{ go }}"
            gobin: "{{ gobin }}"
            tools: "{{ wanted }}"
          check_mode: true
          diff: true
          register: preview

        - name: Install.
          vhvcorp.devtools.go_install:
            go: "{{ go }}"
            gobin: "{{ gobin }}"
            environment:
              GOFLAGS: -trimpath
            tools: "{{ wanted }}"
          register: first

        - name: Install again.
          vhvcorp.devtools.go_install:
            go: "{{ go }}"
            gobin: "{{ gobin }}"
            environment:
              GOFLAGS: -trimpath
            tools: "{{ wanted }}"
          register: again

        - name: Ask for a version that does not exist.
          block:
            - name: Install a missing version.
              vhvcorp.devtools.go_install:
                go: "{{ go }}"
                gobin: "{{ gobin }}"
                tools:
                  - package: github.com/a8m/envsubst/cmd/envsubst
                    version: v9.9.9
          rescue:
            - name: Keep the error.
              ansible.builtin.set_fact:
                missing: "{{ ansible_failed_result }}"

        - name: Ask for latest.
          block:
            - name: Install latest.
              vhvcorp.devtools.go_install:
                go: "{{ go }}"
                tools:
                  - package: github.com/a8m/envsubst/cmd/envsubst
                    version: latest
          rescue:
            - name: Keep the error.
              ansible.builtin.set_fact:
                moving: "{{ ansible_failed_result }}"

        - name: Write what happened.
          ansible.builtin.copy:
            content: "{{ {'preview': preview, 'first': first, 'again': again,
                          'missing': missing, 'moving': moving} | to_json }}"
            dest: "{{ report }}"
            mode: "0644"
    """
)


def test_the_module_through_ansible_playbook(repo_root, tmp_path):
    playbook = tmp_path / "go_install.yml"
    playbook.write_text(PLAYBOOK)
    report = tmp_path / "report.json"
    gobin = tmp_path / "bin"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            str(playbook),
            "-e",
            json.dumps({"go": GO, "gobin": str(gobin), "report": str(report)}),
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    got = json.loads(report.read_text())
    assert got["preview"]["changed"] is True and got["preview"]["installed"] == ["subst"]
    assert got["preview"]["diff"] == {
        "before": "",
        "after": "subst github.com/a8m/envsubst/cmd/envsubst@v1.4.3\n",
    }
    assert got["first"]["installed"] == ["subst"] and got["first"]["go_version"].startswith("go1.")
    assert got["again"]["changed"] is False and got["again"]["unchanged"] == ["subst"]
    assert "diff" not in got["again"]
    assert built_version(gobin / "subst") == "v1.4.3"
    assert run_envsubst(gobin / "subst") == "hello gopher\n"
    assert got["missing"]["msg"].startswith("1 of 1 Go tools failed to install:\n`go install ")
    assert got["missing"]["tools"][0]["status"] == "failed"
    assert got["moving"]["msg"].startswith(
        "tools[0].version is 'latest' for tool 'envsubst': give a pinned version"
    )


def module_of(package: str, version: str, env: dict) -> str:
    """The module that holds package at version: the longest prefix the proxy knows."""
    parts = package.split("/")
    for end in range(len(parts), 1, -1):
        candidate = "/".join(parts[:end])
        found = subprocess.run(
            [GO, "list", "-m", "-json", f"{candidate}@{version}"],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        if found.returncode == 0:
            return candidate
    pytest.fail(f"no module holds {package} at {version}")


def test_every_default_tool_is_a_main_package_at_its_pinned_version(repo_root):
    """The go_tools role's defaults exist on the proxy, without building them (slow)."""
    defaults = yaml.safe_load((repo_root / "roles/go_tools/defaults/main.yml").read_text())
    env = dict(os.environ, GOFLAGS="-mod=mod")
    assert {t["name"] for t in defaults["go_tools_list"]} >= {
        "air",
        "golangci-lint",
        "grpcurl",
        "protoc-gen-go",
        "protoc-gen-go-grpc",
        "mockgen",
        "migrate",
    }
    for tool in normalize_tools(defaults["go_tools_list"]):
        module = module_of(tool["package"], tool["version"], env)
        download = subprocess.run(
            [GO, "mod", "download", "-json", f"{module}@{tool['version']}"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        root = Path(json.loads(download.stdout)["Dir"])
        package_dir = root / tool["package"][len(module) :].lstrip("/")
        sources = [
            p.read_text() for p in package_dir.glob("*.go") if not p.name.endswith("_test.go")
        ]
        assert any("\npackage main\n" in "\n" + s for s in sources), tool["package"]
