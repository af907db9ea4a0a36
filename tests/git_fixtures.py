"""Local git repositories for tests: bare "remotes" with a commit or two, and work trees.

Plain functions over the real git CLI, no pytest, so that tests/integration and tests/e2e
can both load this file (with importlib, by path: tests/ is not a package).

    bare = make_bare_repo(tmp_path / "remotes", "auth-service")   # .../auth-service.git
    url = file_url(bare)                                          # file:///.../auth-service.git
    new = push_commit(bare, {"CHANGELOG.md": "v2\n"}, "Release v2")
    assert head(bare) == new
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

# Commits made by the fixtures have a fixed identity, whatever the machine's git config.
IDENTITY = {
    "GIT_AUTHOR_NAME": "Fixture",
    "GIT_AUTHOR_EMAIL": "fixture@example.invalid",
    "GIT_COMMITTER_NAME": "Fixture",
    "GIT_COMMITTER_EMAIL": "fixture@example.invalid",
}


def git(*args: str, cwd: str | os.PathLike | None = None) -> str:
    """Run git; return its stdout stripped. Raises CalledProcessError (with stderr) on failure."""
    env = dict(os.environ, **IDENTITY, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    done = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise subprocess.CalledProcessError(
            done.returncode, ["git", *args], output=done.stdout, stderr=done.stderr
        )
    return done.stdout.strip()


def file_url(path: str | os.PathLike) -> str:
    """The file:// URL of a local repository."""
    return Path(path).resolve().as_uri()


def write_files(root: str | os.PathLike, files: dict[str, str]) -> None:
    """Write {relative path: text} under root, creating directories."""
    for name, text in files.items():
        target = Path(root, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def commit(worktree: str | os.PathLike, files: dict[str, str], message: str) -> str:
    """Write files in a work tree and commit them; return the new commit."""
    write_files(worktree, files)
    git("add", "--all", cwd=worktree)
    git("commit", "--quiet", "-m", message, cwd=worktree)
    return git("rev-parse", "HEAD", cwd=worktree)


def make_bare_repo(
    root: str | os.PathLike,
    name: str,
    commits: int = 2,
    branch: str = "main",
) -> Path:
    """Make root/<name>.git, a bare repository whose `branch` (its HEAD) has `commits` commits."""
    bare = Path(root, f"{name}.git")
    bare.parent.mkdir(parents=True, exist_ok=True)
    git("init", "--quiet", "--bare", "--initial-branch", branch, str(bare))
    with tempfile.TemporaryDirectory(prefix="git-fixture-") as work:
        git("init", "--quiet", "--initial-branch", branch, work)
        for number in range(1, commits + 1):
            commit(
                work,
                {"README.md": f"# {name}\n\nrevision {number}\n", "go.mod": f"module {name}\n"},
                f"{name}: revision {number}",
            )
        git("push", "--quiet", str(bare), f"HEAD:refs/heads/{branch}", cwd=work)
    # Lets the bare repository be served over "dumb" HTTP by any static file server.
    git("update-server-info", cwd=bare)
    return bare


def push_commit(
    bare: str | os.PathLike, files: dict[str, str], message: str, branch: str = "main"
) -> str:
    """Add a commit on top of `branch` of a bare repository (as a colleague's push); return it."""
    with tempfile.TemporaryDirectory(prefix="git-fixture-") as work:
        git("clone", "--quiet", "--branch", branch, str(bare), work)
        sha = commit(work, files, message)
        git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=work)
    git("update-server-info", cwd=bare)
    return sha


def head(repo: str | os.PathLike, ref: str = "HEAD") -> str:
    """The commit `ref` names in a repository, bare or not."""
    return git("rev-parse", ref, cwd=repo)
