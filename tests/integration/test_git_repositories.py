"""git_repositories against real bare repositories made with git in tmp (tests/git_fixtures.py).

The logic is driven directly (module_utils) where it is about git, and through
ansible-playbook where it is about what a user sees: strict failures, warnings, redaction,
the role.
"""

from __future__ import annotations

import functools
import http.server
import json
import textwrap
import threading
from pathlib import Path

import git_fixtures as gf  # tests/: pythonpath
import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils import git_repositories as gr

NAMES = ["alpha-service", "beta-service", "gamma-service"]


class RecordingGit(gr.Git):
    """The real git, recording each command's subcommand; clones can be made to meet."""

    def __init__(self, clones_meet: int = 0):
        super().__init__(timeout=60)
        self.calls: list[str] = []
        self._lock = threading.Lock()
        # Each clone waits until `clones_meet` clones run at once: proof of parallelism
        # (with fewer threads the barrier times out and the clone fails).
        self._barrier = threading.Barrier(clones_meet, timeout=20) if clones_meet else None

    def run(self, args, cwd=None, check=True):
        with self._lock:
            self.calls.append(args[0])
        if args[0] == "clone" and self._barrier:
            self._barrier.wait()
        return super().run(args, cwd=cwd, check=check)


@pytest.fixture
def remotes(tmp_path) -> dict[str, Path]:
    return {name: gf.make_bare_repo(tmp_path / "remotes", name) for name in NAMES}


def option(remotes: dict[str, Path]) -> list[dict]:
    return [{"name": name, "url": gf.file_url(bare)} for name, bare in remotes.items()]


def by_name(result: dict) -> dict[str, dict]:
    return {entry["name"]: entry for entry in result["repositories"]}


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file under root (.git included) with its size, mtime and content hash."""
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            stat = path.stat()
            files[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns, path.read_bytes())
    return files


@pytest.fixture
def workspace(tmp_path, remotes) -> Path:
    """A workspace where every remote is cloned already."""
    dest = tmp_path / "workspace"
    result = gr.sync_repositories(option(remotes), str(dest))
    assert result["summary"]["cloned"] == len(NAMES), result
    return dest


# --- the logic, on real repositories ----------------------------------------------------------


def test_clones_all_in_parallel_and_a_rerun_changes_nothing_with_one_fetch_each(tmp_path, remotes):
    dest = tmp_path / "workspace"
    git = RecordingGit(clones_meet=len(NAMES))
    first = gr.sync_repositories(option(remotes), str(dest), parallel=len(NAMES), git=git)

    assert first["changed"] is True
    assert first["summary"]["cloned"] == 3 and first["summary"]["failed"] == 0, first
    assert [e["name"] for e in first["repositories"]] == NAMES  # the order given
    for name, bare in remotes.items():
        assert gf.head(dest / name) == gf.head(bare) == by_name(first)[name]["after"]
        assert (dest / name / "README.md").read_text().startswith(f"# {name}")

    git = RecordingGit()
    again = gr.sync_repositories(option(remotes), str(dest), git=git)
    assert again["changed"] is False
    assert again["summary"]["unchanged"] == 3, again
    assert git.calls.count("fetch") == 3
    assert not {"clone", "ls-remote", "merge"} & set(git.calls)


def test_a_new_upstream_commit_is_fast_forwarded(workspace, remotes):
    old = gf.head(remotes["beta-service"])
    new = gf.push_commit(remotes["beta-service"], {"CHANGELOG.md": "v2\n"}, "Release v2")

    result = gr.sync_repositories(option(remotes), str(workspace))

    entry = by_name(result)["beta-service"]
    assert entry["status"] == "updated", entry
    assert (entry["before"], entry["after"]) == (old, new)
    assert gf.head(workspace / "beta-service") == new
    assert (workspace / "beta-service" / "CHANGELOG.md").read_text() == "v2\n"
    assert result["changed"] is True
    assert result["summary"]["unchanged"] == 2


def test_a_dirty_clone_is_left_alone_and_reported(workspace, remotes):
    clone = workspace / "alpha-service"
    (clone / "README.md").write_text("my work in progress\n")
    (workspace / "gamma-service" / "notes.txt").write_text("untracked, but mine\n")
    before = gf.head(clone)
    gf.push_commit(remotes["alpha-service"], {"README.md": "upstream\n"}, "Upstream change")
    gf.push_commit(remotes["gamma-service"], {"notes.txt": "theirs\n"}, "Upstream notes")

    result = gr.sync_repositories(option(remotes), str(workspace))

    for name in ("alpha-service", "gamma-service"):
        entry = by_name(result)[name]
        assert entry["status"] == "dirty", entry
        assert "Commit or stash" in entry["msg"]
    assert "(README.md)" in by_name(result)["alpha-service"]["msg"]
    assert "(notes.txt)" in by_name(result)["gamma-service"]["msg"]
    assert (clone / "README.md").read_text() == "my work in progress\n"
    assert (workspace / "gamma-service" / "notes.txt").read_text() == "untracked, but mine\n"
    assert gf.head(clone) == before
    assert result["changed"] is False


def test_a_diverged_clone_and_one_with_unpushed_commits_are_left_alone(workspace, remotes):
    diverged = workspace / "alpha-service"
    local = gf.commit(diverged, {"local.txt": "mine\n"}, "Local commit")
    gf.push_commit(remotes["alpha-service"], {"remote.txt": "theirs\n"}, "Remote commit")
    ahead = workspace / "beta-service"
    unpushed = gf.commit(ahead, {"local.txt": "mine\n"}, "Unpushed commit")

    result = gr.sync_repositories(option(remotes), str(workspace))

    first, second = by_name(result)["alpha-service"], by_name(result)["beta-service"]
    assert first["status"] == "diverged" and (first["ahead"], first["behind"]) == (1, 1), first
    assert "fast-forward impossible" in first["msg"]
    assert second["status"] == "diverged" and (second["ahead"], second["behind"]) == (1, 0)
    assert "Push them" in second["msg"]
    assert gf.head(diverged) == local and not (diverged / "remote.txt").exists()
    assert gf.head(ahead) == unpushed


def test_what_is_not_a_clone_of_the_repository_is_left_alone(tmp_path, remotes):
    dest = tmp_path / "workspace"
    plain = dest / "alpha-service"
    plain.mkdir(parents=True)
    (plain / "keep.txt").write_text("not a repository\n")
    other = gf.make_bare_repo(tmp_path / "elsewhere", "beta-service")
    gf.git("clone", "--quiet", str(other), str(dest / "beta-service"))
    (dest / "gamma-service").write_text("a file where a clone should be\n")
    before = snapshot(dest)

    result = gr.sync_repositories(option(remotes), str(dest))

    assert [e["status"] for e in result["repositories"]] == ["not_a_clone"] * 3
    assert "is not a git repository" in by_name(result)["alpha-service"]["msg"]
    assert "its origin is" in by_name(result)["beta-service"]["msg"]
    assert "not a directory" in by_name(result)["gamma-service"]["msg"]
    assert snapshot(dest) == before


def test_update_none_never_fetches(workspace, remotes):
    old = gf.head(workspace / "alpha-service")
    gf.push_commit(remotes["alpha-service"], {"x.txt": "new\n"}, "New")
    git = RecordingGit()

    result = gr.sync_repositories(option(remotes), str(workspace), update="none", git=git)

    assert result["summary"]["unchanged"] == 3 and result["changed"] is False
    assert "fetch" not in git.calls
    assert gf.head(workspace / "alpha-service") == old


def test_version_clones_a_branch_and_later_runs_follow_it(tmp_path, remotes):
    bare = remotes["alpha-service"]
    gf.git("branch", "develop", "main", cwd=bare)
    develop = gf.push_commit(bare, {"dev.txt": "dev\n"}, "On develop", branch="develop")
    repos = [{"name": "alpha-service", "url": gf.file_url(bare), "version": "develop"}]
    dest = tmp_path / "workspace"

    cloned = gr.sync_repositories(repos, str(dest))
    assert cloned["repositories"][0]["after"] == develop
    assert gf.git("symbolic-ref", "--short", "HEAD", cwd=dest / "alpha-service") == "develop"

    newer = gf.push_commit(bare, {"dev.txt": "dev 2\n"}, "Again on develop", branch="develop")
    updated = gr.sync_repositories(repos, str(dest))
    assert updated["repositories"][0]["status"] == "updated"
    assert gf.head(dest / "alpha-service") == newer != gf.head(bare, "main")


def test_check_mode_writes_nothing(tmp_path, remotes, workspace):
    fresh = tmp_path / "fresh"
    preview = gr.sync_repositories(option(remotes), str(fresh), check_mode=True)
    assert [e["status"] for e in preview["repositories"]] == ["would_clone"] * 3
    assert by_name(preview)["alpha-service"]["after"] == gf.head(remotes["alpha-service"])
    assert preview["changed"] is True
    assert not fresh.exists()

    new = gf.push_commit(remotes["beta-service"], {"x.txt": "new\n"}, "New")
    (workspace / "gamma-service" / "README.md").write_text("dirty\n")
    before = snapshot(workspace)
    preview = gr.sync_repositories(option(remotes), str(workspace), check_mode=True)
    statuses = {e["name"]: e["status"] for e in preview["repositories"]}
    assert statuses == {
        "alpha-service": "unchanged",
        "beta-service": "would_update",
        "gamma-service": "dirty",
    }
    assert by_name(preview)["beta-service"]["after"] == new
    assert snapshot(workspace) == before  # no fetch: not even remote-tracking refs moved


# --- through ansible-playbook: what a user sees ---------------------------------------------------


def run_playbook(playbook, tmp_path: Path, tasks: str, extra_vars: dict, *args: str, facts=False):
    play = tmp_path / "play.yml"
    play.write_text(
        "- name: Use git_repositories.\n"
        "  hosts: localhost\n"
        f"  gather_facts: {str(facts).lower()}\n"
        "  tasks:\n" + textwrap.indent(textwrap.dedent(tasks), "    ")
    )
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps(extra_vars))
    return playbook(play, "-e", f"@{variables}", *args, timeout=180)


MODULE_TASK = """\
- name: Clone them.
  vhvcorp.devtools.git_repositories:
    dest: "{{ dest }}"
    repositories: "{{ repos }}"
    strict: "{{ strict }}"
  register: result

- name: Show the result.
  ansible.builtin.debug:
    var: result
"""


def test_strict_false_reports_a_missing_repository_and_clones_the_others(
    playbook, tmp_path, remotes
):
    repos = [*option(remotes), {"name": "missing", "url": gf.file_url(tmp_path / "nope.git")}]
    tasks = MODULE_TASK + textwrap.dedent(
        """\
        - name: Check the report.
          ansible.builtin.assert:
            that:
              - result.summary.cloned == 3
              - result.summary.failed == 1
              - (result.repositories | last).status == 'failed'
              - "'does not appear to be a git repository' in (result.repositories | last).msg"
              - "'Check the URL' in (result.repositories | last).msg"
              - result is changed
        """
    )
    done = run_playbook(
        playbook, tmp_path, tasks, {"dest": str(tmp_path / "ws"), "repos": repos, "strict": False}
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "[WARNING]: git could not clone missing" in done.stdout + done.stderr
    assert all((tmp_path / "ws" / name / ".git").is_dir() for name in NAMES)


def test_strict_true_fails_the_task_naming_the_repository(playbook, tmp_path, remotes):
    repos = [{"name": "missing", "url": gf.file_url(tmp_path / "nope.git")}, *option(remotes)]
    done = run_playbook(
        playbook,
        tmp_path,
        MODULE_TASK,
        {"dest": str(tmp_path / "ws"), "repos": repos, "strict": True},
    )
    assert done.returncode == 2, done.stdout[-3000:]
    assert "1 of 4 repositories failed: missing: git could not clone missing" in done.stdout
    # The others were still cloned.
    assert all((tmp_path / "ws" / name / ".git").is_dir() for name in NAMES)


@pytest.fixture
def http_remotes(tmp_path, remotes):
    """The remotes over "dumb" HTTP on 127.0.0.1 (a static file server ignores the password)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path / "remotes"))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_password_in_a_url_is_never_in_the_output(playbook, tmp_path, http_remotes):
    password = "Sup3rS3cretPW"
    repos = [
        {"name": "alpha-service", "url": f"http://dev:{password}@{http_remotes}/alpha-service.git"},
        # Nothing listens there: git's own error message has to be cleaned too.
        {"name": "down", "url": f"https://dev:{password}@127.0.0.1:9/down.git"},
        {"name": "token", "url": f"http://{password}@{http_remotes}/missing.git"},
    ]
    tasks = MODULE_TASK + textwrap.dedent(
        """\
        - name: Check the report.
          ansible.builtin.assert:
            that:
              - result.summary.cloned == 1
              - result.summary.failed == 2
        """
    )
    done = run_playbook(
        playbook,
        tmp_path,
        tasks,
        {"dest": str(tmp_path / "ws"), "repos": repos, "strict": False},
        "-vvv",
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert (tmp_path / "ws" / "alpha-service" / "README.md").is_file()
    output = done.stdout + done.stderr
    assert f"http://{http_remotes}/alpha-service.git" in output
    assert password not in output


def test_the_role_clones_then_a_rerun_changes_nothing(playbook, tmp_path, remotes):
    variables = {
        "repositories_dir": str(tmp_path / "ws"),
        "repositories_names": NAMES,
        "repositories_base_url": gf.file_url(tmp_path / "remotes"),
    }
    tasks = """\
    - name: Run the role.
      ansible.builtin.include_role:
        name: vhvcorp.devtools.repositories
    """
    # The role reads the OS family from the facts.
    first = run_playbook(playbook, tmp_path, tasks, variables, facts=True)
    assert first.returncode == 0, first.stdout[-3000:]
    for name in NAMES:
        assert gf.head(tmp_path / "ws" / name) == gf.head(remotes[name])
        assert f"{name}: cloned. Cloned into" in first.stdout
    again = run_playbook(playbook, tmp_path, tasks, variables, facts=True)
    assert again.returncode == 0, again.stdout[-3000:]
    assert "changed=0" in again.stdout
    assert ": cloned." not in again.stdout
