"""go_install with the real go of this machine, building a real tool from the Go module proxy.

The tool is github.com/a8m/envsubst (no dependencies, two releases: v1.4.2 and v1.4.3), so
a build takes seconds. Go's own module and build caches are used, as a developer's are.
"""

import json
import os
import subprocess
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


def test_the_module_through_ansible_playbook(ansible, tmp_path):
    playbook = tmp_path / "go_install.yml"
    playbook.write_text(PLAYBOOK)
    report = tmp_path / "report.json"
    gobin = tmp_path / "bin"
    result = ansible(
        "ansible-playbook",
        playbook,
        *("-e", json.dumps({"go": GO, "gobin": str(gobin), "report": str(report)})),
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
    build_info = subprocess.run(
        [GO, "version", "-m", str(gobin / "subst")], capture_output=True, text=True, check=True
    ).stdout
    assert "\tbuild\t-trimpath=true\n" in build_info, "`environment` reaches go install"
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
        "protoc-gen-grpc-gateway",
        "protoc-gen-openapiv2",
        "swag",
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


# The go_toolchain role's download methods, end to end on this machine but inside
# tmp_path: a release of a made-up Go 1.99.1 is served from 127.0.0.1 in the layouts of
# go.dev's tarball and of the proxy's toolchain zip. Its `go` is a script that answers
# `go version` and `go env GOVERSION` as a real one does. This machine's own Go (1.26.8,
# older than 1.99.1) is therefore not accepted, and the role installs.
FAKE_GO = """#!/bin/sh
case "$*" in
  version) echo "go version go1.99.1 linux/amd64" ;;
  "env GOVERSION") echo "go1.99.1" ;;
  *) echo "fake go: $*" >&2; exit 2 ;;
esac
"""

ROLE_PLAYBOOK = textwrap.dedent(
    """\
    - name: Run the go_toolchain role into a scratch directory.
      hosts: localhost
      connection: local
      roles:
        - role: vhvcorp.devtools.go_toolchain
    """
)


@pytest.fixture
def release_server(tmp_path):
    """go.dev-style and proxy-style downloads of go1.99.1 for this platform, on 127.0.0.1."""
    import hashlib
    import http.server
    import tarfile
    import threading
    import zipfile

    site = tmp_path / "site"
    (site / "golang.org/toolchain/@v").mkdir(parents=True)
    tarball = site / "go1.99.1.linux-amd64.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name in ("go", "gofmt"):
            data = FAKE_GO.encode()
            info = tarfile.TarInfo(f"go/bin/{name}")
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, __import__("io").BytesIO(data))
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    (site / (tarball.name + ".sha256")).write_text(digest)
    zipped = site / "golang.org/toolchain/@v/v0.0.1-go1.99.1.linux-amd64.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        for name in ("go", "gofmt"):
            info = zipfile.ZipInfo(f"golang.org/toolchain@v0.0.1-go1.99.1.linux-amd64/bin/{name}")
            info.external_attr = 0o100755 << 16
            archive.writestr(info, FAKE_GO)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(site), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {
        "url": f"http://127.0.0.1:{server.server_address[1]}",
        "zip_sha256": hashlib.sha256(zipped.read_bytes()).hexdigest(),
    }
    server.shutdown()
    server.server_close()


def run_role(
    ansible, tmp_path, extra: dict, *flags: str, path: str | None = None
) -> subprocess.CompletedProcess:
    playbook = tmp_path / "go_toolchain.yml"
    playbook.write_text(ROLE_PLAYBOOK)
    variables = {
        "go_toolchain_version": "1.99.1",
        "go_toolchain_install_root": str(tmp_path / "lib/go"),
        "go_toolchain_bin_dir": str(tmp_path / "bin"),
        "go_toolchain_profile": str(tmp_path / "profile"),
        **extra,
    }
    return ansible(
        "ansible-playbook",
        playbook,
        *("-e", json.dumps(variables), *flags),
        timeout=300,
        env={"PATH": path or os.environ["PATH"]},
    )


def recap(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return next(line for line in result.stdout.splitlines() if line.startswith("localhost"))


@pytest.mark.parametrize("method", ["archive", "proxy"])
def test_go_toolchain_installs_checks_links_and_reruns_clean(
    ansible, tmp_path, release_server, method
):
    settings = {
        "go_toolchain_method": method,
        "go_toolchain_archive_url": release_server["url"],
        "go_toolchain_proxy_url": release_server["url"],
    }
    if method == "proxy":
        settings["go_toolchain_checksum"] = "sha256:" + release_server["zip_sha256"]

    preview = recap(run_role(ansible, tmp_path, settings, "--check"))
    assert "changed=0" not in preview
    assert not (tmp_path / "lib").exists() and not (tmp_path / "bin").exists()
    assert not (tmp_path / "profile").exists()

    assert "failed=0" in recap(run_role(ansible, tmp_path, settings))
    go = tmp_path / "bin/go"
    assert go.is_symlink() and os.readlink(go) == str(tmp_path / "lib/go/1.99.1/bin/go")
    assert os.readlink(tmp_path / "bin/gofmt") == str(tmp_path / "lib/go/1.99.1/bin/gofmt")
    assert subprocess.run([str(go), "env", "GOVERSION"], capture_output=True, text=True).stdout == (
        "go1.99.1\n"
    )
    assert sorted(p.name for p in (tmp_path / "lib/go").iterdir()) == ["1.99.1"], "no leftovers"
    profile = (tmp_path / "profile").read_text()
    assert f'"{tmp_path}/bin"' in profile and "${GOPATH:-$HOME/go}/bin" in profile
    shell = subprocess.run(
        ["sh", "-c", f". {tmp_path}/profile && command -v go && echo $PATH"],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert shell[0] == str(go)
    assert shell[1].startswith(f"{tmp_path}/bin:{tmp_path}/go/bin:")

    assert "changed=0" in recap(run_role(ansible, tmp_path, settings))
    assert (tmp_path / "profile").read_text() == profile


def test_go_toolchain_refuses_a_download_whose_checksum_differs(ansible, tmp_path, release_server):
    result = run_role(
        ansible,
        tmp_path,
        {
            "go_toolchain_method": "proxy",
            "go_toolchain_proxy_url": release_server["url"],
            "go_toolchain_checksum": "sha256:" + "0" * 64,
        },
    )
    assert result.returncode != 0
    words = " ".join(result.stdout.split())  # the failure is printed as wrapped YAML
    assert "did not match sha256:" + "0" * 64 in words or "did not match " + "0" * 64 in words, (
        result.stdout[-3000:]
    )
    assert not (tmp_path / "lib/go/1.99.1").exists() and not (tmp_path / "bin/go").exists()


def test_go_toolchain_without_a_pinned_checksum_says_what_to_set(ansible, tmp_path):
    result = run_role(ansible, tmp_path, {"go_toolchain_method": "proxy"})
    assert result.returncode != 0
    assert "has no pinned checksum of Go 1.99.1" in result.stdout
    assert "Set go_toolchain_checksum to sha256:" in result.stdout


def test_go_toolchain_never_writes_into_usr_local_go(ansible, tmp_path):
    before = sorted(os.listdir("/usr/local/go/bin"))
    result = run_role(ansible, tmp_path, {"go_toolchain_bin_dir": "/usr/local/go/bin"})
    assert result.returncode != 0
    assert "/usr/local/go/bin is in /usr/local/go, a Go installation this role never" in (
        result.stdout
    )
    assert sorted(os.listdir("/usr/local/go/bin")) == before


def test_go_toolchain_keeps_this_machine_s_newer_go(ansible, tmp_path):
    """The pinned 1.26.8 is not newer than the go on PATH: nothing is installed."""
    result = run_role(
        ansible,
        tmp_path,
        {"go_toolchain_version": "1.26.8", "go_toolchain_manage_profile": False},
        path=f"{Path(GO).parent}:{os.environ['PATH']}",
    )
    assert "changed=0" in recap(result)
    assert not (tmp_path / "lib").exists() and not (tmp_path / "bin").exists()
