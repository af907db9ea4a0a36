"""The docker role's choice of setup per platform, with the platform's facts overridden.

macOS, Fedora and WSL2 cannot run here: these plays override the facts that decide (the
OS family, the system, /proc/version) and run only the role's platform selection, which
installs nothing.
"""

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
LINUX_KERNEL = "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) #1 SMP Debian\n"
WSL_KERNEL = "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@941d701f84f1) #1 SMP\n"


def select(
    ansible,
    tmp_path,
    facts,
    kernel=LINUX_KERNEL,
    docker_reply=None,
    role="vhvcorp.devtools.docker",
    **role_vars,
):
    """Runs platform.yml of `role` (the collection's, or a copy's path) with `facts`
    overriding the gathered ones; returns the recap's chosen setup and OS vars file, or the
    failure message."""
    proc_version = tmp_path / "proc-version"
    proc_version.write_text(kernel)
    env = {}
    if docker_reply is not None:
        # A `docker` that answers as Docker Desktop's engine does inside WSL.
        fake_bin = tmp_path / "bin"
        fake_bin.mkdir()
        (fake_bin / "docker").write_text(f"#!/bin/sh\necho '{docker_reply}'\n")
        (fake_bin / "docker").chmod(0o755)
        env["PATH"] = f"{fake_bin}:{os.environ['PATH']}"
    play = [
        {
            "hosts": "localhost",
            # Only the facts the selection reads, all given: no gathering, so it is quick.
            "gather_facts": False,
            "vars": {"docker_proc_version_path": str(proc_version), **role_vars},
            "tasks": [
                {
                    "ansible.builtin.set_fact": {
                        **{f"ansible_{k}": v for k, v in facts.items()},
                        "ansible_distribution_version": "1",
                        "cacheable": True,
                    }
                },
                {
                    "ansible.builtin.include_role": {
                        "name": role,
                        "tasks_from": "platform.yml",
                    }
                },
                {
                    "ansible.builtin.copy": {
                        "dest": str(tmp_path / "chosen.json"),
                        "content": "{{ {'platform': _docker_platform,"
                        " 'vars': _docker_os_vars} | to_json }}",
                        "mode": "0644",
                    }
                },
            ],
        }
    ]
    playbook = tmp_path / "select.yml"
    playbook.write_text(yaml.safe_dump(play))
    run = ansible("ansible-playbook", playbook, env=env, timeout=120)
    if run.returncode != 0:
        return {"failed": run.stdout + run.stderr}
    return json.loads((tmp_path / "chosen.json").read_text())


MACOS = {"os_family": "Darwin", "system": "Darwin", "distribution": "MacOSX"}
FEDORA = {"os_family": "RedHat", "system": "Linux", "distribution": "Fedora"}
DEBIAN = {"os_family": "Debian", "system": "Linux", "distribution": "Debian"}
FREEBSD = {"os_family": "FreeBSD", "system": "FreeBSD", "distribution": "FreeBSD"}


@pytest.mark.parametrize(
    ("facts", "platform"),
    [(MACOS, "Darwin"), (FEDORA, "RedHat"), (DEBIAN, "Debian")],
    ids=["macos", "fedora", "debian"],
)
def test_each_os_family_gets_its_own_setup(ansible, tmp_path, facts, platform):
    assert select(ansible, tmp_path, facts) == {"platform": platform, "vars": platform}


def test_an_unsupported_system_fails_with_what_to_do(ansible, tmp_path):
    failure = select(ansible, tmp_path, FREEBSD)["failed"]
    assert "supports Debian, Ubuntu, Fedora" in failure
    assert "--skip-tags docker" in failure


def test_distribution_files_win_over_the_family_files(ansible, tmp_path):
    copy = tmp_path / "roles" / "docker"
    shutil.copytree(REPO / "roles" / "docker", copy)
    (copy / "vars" / "Ubuntu.yml").write_text("docker_packages: {distribution: [docker.io]}\n")
    (copy / "tasks" / "setup-Ubuntu.yml").write_text("[]\n")
    ubuntu = {**DEBIAN, "distribution": "Ubuntu"}
    assert select(ansible, tmp_path, ubuntu, role=str(copy)) == {
        "platform": "Ubuntu",
        "vars": "Ubuntu",
    }
    assert select(ansible, tmp_path, DEBIAN, role=str(copy)) == {
        "platform": "Debian",
        "vars": "Debian",
    }
    # Under WSL2 with Docker Desktop: its integration, with the distribution's facts.
    wsl = select(
        ansible, tmp_path, ubuntu, kernel=WSL_KERNEL, docker_reply="Docker Desktop", role=str(copy)
    )
    assert wsl == {"platform": "WSL-integration", "vars": "Ubuntu"}


def test_wsl2_without_docker_desktop_installs_the_engine_inside_and_says_so(ansible, tmp_path):
    chosen = select(ansible, tmp_path, DEBIAN, kernel=WSL_KERNEL, docker_reply="")
    assert chosen == {"platform": "Debian", "vars": "Debian"}


def test_wsl2_with_docker_desktop_uses_its_integration(ansible, tmp_path):
    chosen = select(ansible, tmp_path, DEBIAN, kernel=WSL_KERNEL, docker_reply="Docker Desktop")
    assert chosen == {"platform": "WSL-integration", "vars": "Debian"}


def test_wsl2_requiring_docker_desktop_fails_with_how_to_enable_it(ansible, tmp_path):
    failure = select(
        ansible, tmp_path, DEBIAN, kernel=WSL_KERNEL, docker_reply="", docker_wsl_mode="integration"
    )["failed"]
    assert "Settings > Resources > WSL integration" in failure
    assert "docker_wsl_mode to `engine`" in failure


def test_wsl2_engine_mode_never_asks_docker_desktop(ansible, tmp_path):
    chosen = select(
        ansible,
        tmp_path,
        DEBIAN,
        kernel=WSL_KERNEL,
        docker_reply="Docker Desktop",
        docker_wsl_mode="engine",
    )
    assert chosen == {"platform": "Debian", "vars": "Debian"}


def test_a_plain_linux_kernel_is_not_taken_for_wsl(ansible, tmp_path):
    chosen = select(ansible, tmp_path, DEBIAN, docker_reply="Docker Desktop")
    assert chosen == {"platform": "Debian", "vars": "Debian"}
