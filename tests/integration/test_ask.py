"""vhvcorp.devtools.ask: asks on a terminal, answers with the default without one."""

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent

PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - vhvcorp.devtools.ask:
        question: Workspace directory
        default: /tmp/default-ws
      register: workspace
    - vhvcorp.devtools.ask:
        question: JWT secret
        secret: true
      register: jwt
    - ansible.builtin.debug:
        msg: "answer={{ workspace.answer }} interactive={{ workspace.interactive }}
          secret_length={{ jwt.answer | length }}"
"""


def write_playbook(tmp_path):
    path = tmp_path / "ask.yml"
    path.write_text(PLAYBOOK)
    return path


def test_without_a_terminal_it_answers_the_default_at_once_and_silently(tmp_path, repo_root):
    started = time.monotonic()
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), str(write_playbook(tmp_path))],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, ANSIBLE_CONFIG=str(repo_root / "ansible.cfg")),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "answer=/tmp/default-ws interactive=False secret_length=0" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr
    assert time.monotonic() - started < 30


def _read_until(fd, marker, out, timeout=30):
    deadline = time.monotonic() + timeout
    while marker not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                data = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            out += data
    return out


def _type(fd, keys):
    """Type an answer as a person would, a moment after the prompt: the prompt switches the
    terminal's mode after printing, and that switch drops input typed before it."""
    time.sleep(0.5)
    os.write(fd, keys)


def _wait(pid, timeout):
    """The child's exit status, or None (and the child killed) when it is still running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def test_on_a_terminal_it_asks_and_never_echoes_the_secret(tmp_path, repo_root):
    playbook = write_playbook(tmp_path)
    env = dict(os.environ, ANSIBLE_CONFIG=str(repo_root / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    pid, fd = pty.fork()
    if pid == 0:  # the child: ansible-playbook on the new terminal
        os.execve(str(BIN / "ansible-playbook"), ["ansible-playbook", str(playbook)], env)  # noqa: S606
    try:
        out = _read_until(fd, b"Workspace directory [/tmp/default-ws]:", b"")
        _type(fd, b"/tmp/typed-ws\r")
        out = _read_until(fd, b"JWT secret (input hidden", out)
        _type(fd, b"s3cr3t-value\r")
        out = _read_until(fd, b"PLAY RECAP", out)
        out = _read_until(fd, b"failed=", out)
        status = _wait(pid, timeout=30)
    finally:
        os.close(fd)
    text = out.decode(errors="replace")
    assert status is not None, "ansible-playbook did not finish; it printed:\n" + text
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "answer=/tmp/typed-ws interactive=True secret_length=12" in text
    assert "s3cr3t-value" not in text
