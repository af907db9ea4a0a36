"""Fixtures shared by every test: where the harness keeps its state."""

import json
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def harness_state_dir() -> Path:
    """The directory the harness (tests/harness/up.py) writes its state to."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vhvcorp-devtools"
    return Path(os.environ.get("DEVTOOLS_STATE_DIR", default))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def harness_state() -> dict:
    """What the harness brought up. Fails (never skips) when the harness has not run."""
    path = harness_state_dir() / "harness.json"
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: the test harness has not run. "
            "Run `make harness` (or `make test`, which runs it) first."
        )
    return json.loads(path.read_text())
