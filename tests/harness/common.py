"""What every part of the harness shares: its state directory, its error, its report line,
the runner of our playbooks, and its background processes (started in a session of their
own, with a pid file, on 127.0.0.1 only)."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def state_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vhvcorp-devtools"
    return Path(os.environ.get("DEVTOOLS_STATE_DIR", default))


class HarnessError(Exception):
    """A component could not be brought up; the message says what to do."""


def report(component: str, action: str, started: float, detail: str = "") -> None:
    line = f"harness: {component:<44} {action:<9} {time.monotonic() - started:6.1f}s"
    print(f"{line}  {detail}".rstrip(), flush=True)


def ansible_playbook(playbook: str, *extra: str, json_output: bool = False):
    """Run one of our playbooks from the repository root (so ansible.cfg applies)."""
    env = dict(os.environ)
    if json_output:
        env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    result = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), playbook, *extra],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if result.returncode:
        log = state_dir() / (Path(playbook).stem + ".log")
        log.write_text(result.stdout + result.stderr)
        raise HarnessError(
            f"{playbook} failed; its whole output is in {log}. Its end:\n"
            + "\n".join(result.stdout.splitlines()[-25:])
        )
    return result


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise HarnessError(f"{what} did not come up within {timeout:.0f}s")


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop_process(pid_file: Path, port: int, what: str) -> None:
    """Stop the process of pid_file (ours, of another build or wedged) and wait until its
    port is free; fail when the port is held by a process the harness did not start."""
    if pid_file.is_file():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        pid_file.unlink()
        wait_for(lambda: not port_in_use(port), 15, f"the old {what} to stop")
    if port_in_use(port):
        raise HarnessError(
            f"127.0.0.1:{port} is taken by a process the harness did not start; "
            "stop it and run the harness again."
        )


def start_process(argv: list, pid_file: Path, log: Path, env: dict | None = None) -> int:
    """Start argv in a session of its own (it outlives the harness), its output appended to
    log, its pid in pid_file."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    pid_file.write_text(str(proc.pid))
    return proc.pid


def process_alive(pid_file: Path) -> bool:
    """True when pid_file names a running process (not a zombie)."""
    try:
        pid = int(pid_file.read_text())
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
