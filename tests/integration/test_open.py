"""open.yml and `make open-<component>`: the URL of a component's web page, from the
catalog's published port, printed as the last line and opened only where a desktop is.

The desktop is the one thing this machine lacks: a program named xdg-open, first on PATH,
stands in for the desktop's opener and writes down what it was asked to open.
"""

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

NO_DESKTOP = {"DISPLAY": "", "WAYLAND_DISPLAY": ""}


@pytest.fixture
def opener(tmp_path) -> dict:
    """An xdg-open of ours on PATH: its arguments go to a file; OPENER_FAILS makes it fail."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    asked = tmp_path / "asked"
    script = bin_dir / "xdg-open"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {asked}\n'
        'if [ -n "$OPENER_FAILS" ]; then\n'
        '  echo "no method available for opening $1" >&2; exit 3\n'
        "fi\n"
    )
    script.chmod(0o755)
    return {"asked": asked, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def last_line(stdout: str) -> str:
    return stdout.rstrip().splitlines()[-1]


def test_prints_the_url_and_opens_nothing_without_a_desktop(playbook, opener):
    run = playbook(
        "open.yml",
        "-e", "component=rabbitmq",
        "-e", "devtools_stack_port_offset=300",
        env={**NO_DESKTOP, "PATH": opener["PATH"]},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    assert last_line(run.stdout) == "http://127.0.0.1:15972/"  # management 15672 + 300
    assert not opener["asked"].exists()


@pytest.mark.parametrize("desktop", [{"DISPLAY": ":0"}, {"WAYLAND_DISPLAY": "wayland-0"}])
def test_opens_it_where_a_desktop_is(playbook, opener, desktop):
    run = playbook(
        "open.yml",
        "-e", "component=prometheus",
        env={**NO_DESKTOP, **desktop, "PATH": opener["PATH"]},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    assert last_line(run.stdout) == "http://127.0.0.1:9090/"
    assert opener["asked"].read_text() == "http://127.0.0.1:9090/\n"


def test_a_desktop_that_cannot_open_it_is_a_warning_and_the_url_is_printed(playbook, opener):
    run = playbook(
        "open.yml",
        "-e", "component=jaeger",
        env={"DISPLAY": ":0", "OPENER_FAILS": "1", "PATH": opener["PATH"]},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    assert last_line(run.stdout) == "http://127.0.0.1:16686/"
    warned = " ".join(run.stderr.split())
    assert "[WARNING]: xdg-open could not open http://127.0.0.1:16686/: no method available" in (
        warned
    ), run.stderr


def test_a_component_without_a_page_fails_naming_those_with_one(playbook):
    run = playbook("open.yml", "-e", "component=redis", env=NO_DESKTOP)
    assert run.returncode != 0
    assert "choose one of grafana, jaeger, prometheus, rabbitmq" in " ".join(run.stdout.split())


def test_make_open_target_prints_the_url(repo_root: Path, opener):
    run = subprocess.run(
        ["make", "--no-print-directory", "open-grafana", "ARGS=-e devtools_stack_port_offset=7"],
        cwd=repo_root,
        env={**os.environ, **NO_DESKTOP, "PATH": opener["PATH"]},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert last_line(run.stdout) == "http://127.0.0.1:3007/"
    assert not opener["asked"].exists()
