"""A simulated fleet: containers of the local Debian images (tests/fleet/Dockerfile adds
Debian's openssh-server) reached over SSH on 127.0.0.1 ports Docker picks, with a key
generated for the run, and the inventory that points at them. Used by tests/e2e/test_fleet.py
and benchmarks/fleet.py."""

import functools
import json
import socket
import subprocess
import time
import uuid
from pathlib import Path

import yaml

FLEET_DIR = Path(__file__).resolve().parent / "fleet"
REPO_ROOT = FLEET_DIR.parent.parent
IMAGE = "vhvcorp-local/fleet-host"


def docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def prerequisite_packages() -> list[str]:
    """The Debian packages the prerequisites role installs (its vars/Debian.yml)."""
    path = REPO_ROOT / "roles" / "prerequisites" / "vars" / "Debian.yml"
    return yaml.safe_load(path.read_text())["prerequisites_packages"]


@functools.cache
def build_image(suite: str, python: bool = True, prerequisites: bool = False) -> str:
    """The fleet host image of this Debian suite (cached by Docker): on the local
    debian-python image, or on the bare debian one when not `python`; with the
    prerequisites role's packages installed already when `prerequisites`."""
    tag = (
        f"{IMAGE}:{suite}" + ("" if python else "-nopython") + ("-prereqs" if prerequisites else "")
    )
    base = f"vhvcorp-local/debian-python:{suite}" if python else f"vhvcorp-local/debian:{suite}"
    packages = " ".join(prerequisite_packages()) if prerequisites else ""
    docker(
        "build", "-q",
        "--build-arg", f"BASE={base}",
        "--build-arg", f"PACKAGES={packages}",
        "-t", tag,
        str(FLEET_DIR),
    )  # fmt: skip
    return tag


def wait_for_sshd(port: int, deadline: float = 30) -> None:
    end = time.monotonic() + deadline
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                if conn.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        if time.monotonic() > end:
            raise TimeoutError(f"no sshd answered on 127.0.0.1:{port} within {deadline} s")
        time.sleep(0.3)


class Fleet:
    """Start hosts with `add`, wait for their sshd with `wait`, write the inventory with
    `inventory`, `remove` them all."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.prefix = f"fleet-{uuid.uuid4().hex[:6]}"
        self.key = directory / "id_ed25519"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", self.prefix, "-f", str(self.key)],
            check=True,
        )
        self.key.with_suffix(".pub").chmod(0o644)
        self.hosts: dict[str, dict] = {}
        self.stopped: set[str] = set()

    def add(
        self,
        name: str,
        suite: str = "bookworm",
        python: bool = True,
        prerequisites: bool = False,
        **host_vars,
    ) -> dict:
        """Start a host (see build_image); `wait` for it before it is used."""
        container = f"{self.prefix}-{name}"
        docker(
            "run", "-d", "--name", container, "--hostname", name,
            # Not the integration tests' label key: their clean-up removes every container
            # that has it, whatever its value, and so would take this fleet mid-run.
            "--label", f"org.vhvcorp.devtools.fleet={self.prefix}",
            "-p", "127.0.0.1::22",
            "-v", f"{self.key.with_suffix('.pub')}:/etc/ssh/fleet_authorized_keys:ro",
            build_image(suite, python, prerequisites),
        )  # fmt: skip
        port = int(docker("port", container, "22/tcp").splitlines()[0].rsplit(":", 1)[1])
        self.hosts[name] = {"container": container, "ansible_port": port, **host_vars}
        return self.hosts[name]

    def wait(self) -> None:
        """Until the sshd of every host started answers (they start side by side)."""
        for name, spec in self.hosts.items():
            if name not in self.stopped:
                wait_for_sshd(spec["ansible_port"])

    def stop(self, name: str) -> None:
        """The host is gone before the run: its port answers no more."""
        docker("stop", "-t", "1", self.hosts[name]["container"])
        self.stopped.add(name)

    def exec(self, name: str, *argv: str) -> str:
        return docker("exec", self.hosts[name]["container"], *argv)

    def inventory(self) -> Path:
        hosts = {
            name: {k: v for k, v in spec.items() if k != "container"}
            for name, spec in self.hosts.items()
        }
        path = self.directory / "hosts.json"
        path.write_text(
            json.dumps(
                {
                    "linux": {
                        "hosts": hosts,
                        "vars": {
                            "ansible_host": "127.0.0.1",
                            "ansible_user": "root",
                            "ansible_connection": "ssh",
                            "ansible_ssh_private_key_file": str(self.key),
                            # Throwaway hosts on ports reused between runs: no known_hosts.
                            "ansible_ssh_common_args": (
                                "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
                            ),
                            "ansible_python_interpreter": "/usr/bin/python3",
                            # SSH's connection sharing of this run only: a master left by an
                            # earlier run on a port Docker hands out again must not answer.
                            "ansible_control_path_dir": str(self.directory / "cp"),
                        },
                    }
                }
            )
        )
        return path

    def remove(self) -> None:
        for spec in self.hosts.values():
            subprocess.run(
                ["docker", "rm", "-f", "-v", spec["container"]], capture_output=True, check=False
            )
