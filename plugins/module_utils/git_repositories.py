# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Clone or fast-forward many git repositories at once, never touching local work.

Why not ``ansible.builtin.git``: it handles one repository per task, so a loop over six
services clones them one after the other; and on a work tree with local changes it either
fails the task or, with ``force``, throws the changes away. A developer's workspace needs
parallel clones and a report that leaves uncommitted work, local commits and foreign
directories alone. This file does that with the git CLI, in a thread pool.

Per repository, ``dest/<name>``:

- absent (or an empty directory): cloned (check mode: ``would_clone``, from ``git ls-remote``);
- a directory that is not the top of a git work tree, or whose ``origin`` is another URL:
  ``not_a_clone``, left alone;
- uncommitted changes (tracked or untracked files): ``dirty``, left alone, nothing fetched;
- otherwise, like ``git pull --ff-only`` on the branch checked out: one ``git fetch`` of its
  upstream branch, then ``updated`` (fast-forwarded), ``unchanged``, or ``diverged`` (local
  commits not on the remote, or fast-forward impossible: left alone). In check mode the
  remote commit comes from ``git ls-remote`` and nothing is written;
- any git failure: ``failed``, with git's last line of stderr and what to do.

Credentials in URLs (``https://user:token@host/...``) never appear in what this returns.
"""

from __future__ import annotations

import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote

UPDATE_MODES = ("none", "ff-only")
STATUSES = (
    "cloned",
    "updated",
    "unchanged",
    "would_clone",
    "would_update",
    "dirty",
    "diverged",
    "not_a_clone",
    "failed",
)
CHANGED_STATUSES = frozenset(("cloned", "updated", "would_clone", "would_update"))
MASK = "********"

# scheme://userinfo@ ... : the userinfo runs to the last '@' before the path.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s]+)@")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")

# Lines git adds after the real reason of a failed clone or fetch.
_BOILERPLATE = re.compile(
    r"^(fatal: Could not read from remote repository\.|Please make sure you have the correct "
    r"access rights|and the repository exists\.)",
    re.IGNORECASE,
)

FIX_REMOTE = "check the URL, your SSH key or credentials, and the network, then rerun"


class InputError(Exception):
    """The repositories option is wrong; the message quotes the value and says how to fix it."""


class GitError(Exception):
    """A git command failed; ``line`` is the last line git wrote to stderr."""

    def __init__(self, args, returncode, stderr):
        self.git_args = list(args)
        self.returncode = returncode
        self.stderr = stderr or ""
        lines = [
            line.strip()
            for line in self.stderr.splitlines()
            if line.strip() and not _BOILERPLATE.match(line.strip())
        ]
        self.line = lines[-1] if lines else "git exited with %s" % returncode
        for prefix in ("fatal: ", "error: "):
            if self.line.startswith(prefix):
                self.line = self.line[len(prefix) :]
        super().__init__(self.line)


# --- credentials ----------------------------------------------------------------------------


def _keeps_userinfo(scheme, userinfo):
    """An SSH user name alone (ssh://git@host/) is no secret; anything else in a URL may be."""
    return ":" not in userinfo and "ssh" in scheme.lower()


def redact_url(text):
    """Remove credentials (user:password@, token@) from every URL in text.

    ``https://bob:s3cret@host/x.git`` becomes ``https://host/x.git``;
    ``ssh://git@host/x.git`` and ``git@host:org/x.git`` stay as they are.
    """
    if not text:
        return text

    def replace(match):
        if _keeps_userinfo(match.group("scheme"), match.group("userinfo")):
            return match.group(0)
        return match.group("scheme")

    return _USERINFO.sub(replace, str(text))


def url_secrets(url):
    """The secret strings of a URL (its password or token, as written and decoded)."""
    secrets = set()
    for match in _USERINFO.finditer(url or ""):
        scheme, userinfo = match.group("scheme"), match.group("userinfo")
        if _keeps_userinfo(scheme, userinfo):
            continue
        secret = userinfo.split(":", 1)[1] if ":" in userinfo else userinfo
        for value in (secret, unquote(secret)):
            if value:
                secrets.add(value)
    return secrets


def scrub(text, secrets=()):
    """Text safe to show: URLs without credentials, and no known secret anywhere in it."""
    if text is None:
        return None
    text = redact_url(str(text))
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


# --- pure decisions -------------------------------------------------------------------------


def normalize_remote(url):
    """A remote URL for comparison: no credentials, no trailing slash or .git."""
    url = redact_url((url or "").strip()).rstrip("/")
    if url.endswith(".git"):
        url = url[: -len(".git")]
    return url.rstrip("/")


def same_remote(a, b):
    """Whether two remote URLs name the same repository (credentials and .git aside)."""
    return normalize_remote(a) == normalize_remote(b)


def local_state(exists, is_dir, empty, toplevel, path, origin, url):
    """What is at dest/<name>, as a next step: 'clone', 'not_a_clone' or 'clone_present'.

    toplevel is what ``git rev-parse --show-toplevel`` printed (None when it failed); origin
    is remote.origin.url (None when there is none).
    """
    if not exists or (is_dir and empty):
        return "clone"
    if not is_dir or toplevel is None:
        return "not_a_clone"
    if os.path.realpath(toplevel) != os.path.realpath(path):
        return "not_a_clone"  # a plain directory inside some other work tree
    if origin is None or not same_remote(origin, url):
        return "not_a_clone"
    return "clone_present"


def compare_commits(head, target, head_in_target, target_in_head):
    """How HEAD relates to the remote commit: 'unchanged', 'fast_forward', 'ahead', 'diverged'.

    head_in_target: HEAD is an ancestor of the remote commit; target_in_head: the other way.
    'ahead' (local commits not on the remote) and 'diverged' are both reported as diverged.
    """
    if head == target:
        return "unchanged"
    if head_in_target:
        return "fast_forward"
    if target_in_head:
        return "ahead"
    return "diverged"


def summarize(entries):
    """Counts per status (every status present, zeros included) and whether anything changed."""
    summary = {status: 0 for status in STATUSES}
    for entry in entries:
        summary[entry["status"]] += 1
    changed = any(entry["status"] in CHANGED_STATUSES for entry in entries)
    return summary, changed


def normalize_repositories(repositories):
    """Check the repositories option; return [{name, url, version}] or raise InputError."""
    if not isinstance(repositories, list) or not repositories:
        raise InputError(
            "`repositories` must be a non-empty list of {name, url, version} mappings, "
            "got %r." % (type(repositories).__name__,)
        )
    result, seen = [], set()
    for index, item in enumerate(repositories):
        where = "`repositories[%d]`" % index
        if not isinstance(item, dict):
            raise InputError(
                "%s is %s, not a mapping: give it as {name: ..., url: ...}."
                % (where, redact_url(repr(item)))
            )
        unknown = sorted(set(item) - {"name", "url", "version", "branch"})
        if unknown:
            raise InputError(
                "%s has unknown keys %s: use name, url and version (or branch)." % (where, unknown)
            )
        name, url = item.get("name"), item.get("url")
        if not isinstance(name, str) or not _NAME.match(name) or name in (".", ".."):
            raise InputError(
                "%s has name %r: give a directory name of letters, digits, '.', '_' and '-' "
                "(it is cloned into dest/<name>)." % (where, name)
            )
        if name in seen:
            raise InputError(
                "%s: the name %r is given twice; names must be unique." % (where, name)
            )
        seen.add(name)
        if not isinstance(url, str) or not url.strip() or url.strip().startswith("-"):
            raise InputError(
                "%s (%s) has url %r: give the repository's clone URL, such as "
                "https://github.com/vhvcorp/%s.git." % (where, name, redact_url(str(url)), name)
            )
        if "version" in item and "branch" in item:
            raise InputError("%s (%s) has both version and branch: give one." % (where, name))
        version = item.get("version", item.get("branch"))
        if version is not None and (
            not isinstance(version, str) or not version.strip() or version.startswith("-")
        ):
            raise InputError(
                "%s (%s) has version %r: give a branch or tag name, or leave it out for the "
                "remote's default branch." % (where, name, version)
            )
        result.append(dict(name=name, url=url.strip(), version=version))
    return result


# --- git --------------------------------------------------------------------------------------


def git_environment(base=None, accept_newhostkey=True, ssh_opts=None):
    """The environment git runs in: never prompts, C locale, SSH options when asked."""
    env = dict(os.environ if base is None else base)
    env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C", LANG="C", GIT_ASKPASS="", SSH_ASKPASS="")
    ssh = [env.get("GIT_SSH_COMMAND") or "ssh", "-o", "BatchMode=yes"]
    if accept_newhostkey:
        ssh += ["-o", "StrictHostKeyChecking=accept-new"]
    if ssh_opts:
        ssh.append(ssh_opts)
    env["GIT_SSH_COMMAND"] = " ".join(ssh)
    return env


class Git:
    """Runs the git CLI with a fixed environment and a timeout per command."""

    def __init__(self, executable="git", env=None, timeout=600):
        self.executable = executable
        self.env = env if env is not None else git_environment()
        self.timeout = timeout

    def run(self, args, cwd=None, check=True):
        """Run ``git <args>``; return (rc, stdout, stderr). Raises GitError when check fails."""
        try:
            done = subprocess.run(
                [self.executable, *args],
                cwd=cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                check=False,
                timeout=self.timeout,
            )
        except subprocess.TimeoutExpired as exc:
            raise GitError(
                args, -1, "git %s took longer than %ss" % (args[0], self.timeout)
            ) from exc
        except OSError as exc:
            raise GitError(args, -1, "cannot run %s: %s" % (self.executable, exc)) from exc
        if check and done.returncode != 0:
            raise GitError(args, done.returncode, done.stderr)
        return done.returncode, done.stdout.rstrip(), done.stderr

    def out(self, args, cwd=None):
        return self.run(args, cwd=cwd)[1]

    def try_out(self, args, cwd=None):
        """stdout, or None when git exits non-zero."""
        rc, out, _ = self.run(args, cwd=cwd, check=False)
        return out if rc == 0 else None

    def is_ancestor(self, ancestor, descendant, cwd):
        rc, _, err = self.run(["merge-base", "--is-ancestor", ancestor, descendant], cwd, False)
        if rc not in (0, 1):
            raise GitError(["merge-base"], rc, err)
        return rc == 0


def _remote_commit(listing, ref):
    """The commit a `git ls-remote` listing gives for ref (a peeled tag's commit first)."""
    refs = {}
    for line in listing.splitlines():
        sha, _, name = line.partition("\t")
        refs[name.strip()] = sha.strip()
    for name in (ref + "^{}", ref):
        if name in refs:
            return refs[name]
    if ref == "HEAD":
        return None
    for prefix in ("refs/heads/", "refs/tags/"):
        for name in (prefix + ref + "^{}", prefix + ref):
            if name in refs:
                return refs[name]
    return None


# --- one repository ---------------------------------------------------------------------------


class _Sync:
    """The work for one repository; ``entry`` is what gets reported."""

    def __init__(self, git, repo, dest, update, check_mode, secrets):
        self.git = git
        self.repo = repo
        self.update = update
        self.check_mode = check_mode
        self.secrets = secrets
        self.path = os.path.join(dest, repo["name"])
        self.entry = dict(
            name=repo["name"],
            url=scrub(repo["url"], secrets),
            path=self.path,
            version=repo["version"],
            status=None,
            before=None,
            after=None,
            msg="",
        )

    def done(self, status, msg, before=None, after=None, **extra):
        self.entry.update(status=status, msg=scrub(msg, self.secrets), before=before, after=after)
        self.entry.update(extra)
        return self.entry

    def run(self):
        try:
            return self._run()
        except GitError as exc:
            what = "clone" if self.entry.get("_cloning") else "update"
            return self.done(
                "failed",
                "git could not %s %s: %s. %s."
                % (
                    what,
                    self.repo["name"],
                    exc.line.rstrip("."),
                    FIX_REMOTE[0].upper() + FIX_REMOTE[1:],
                ),
                before=self.entry.get("before"),
            )
        finally:
            self.entry.pop("_cloning", None)

    def _run(self):
        path = self.path
        exists = os.path.lexists(path)
        is_dir = os.path.isdir(path)
        empty = is_dir and not os.listdir(path)
        toplevel = origin = None
        if is_dir and not empty:
            rc, toplevel, err = self.git.run(["rev-parse", "--show-toplevel"], path, False)
            if rc != 0:
                if "dubious ownership" in err:
                    raise GitError(["rev-parse"], rc, err)
                toplevel = None
            else:
                origin = self.git.try_out(["config", "--get", "remote.origin.url"], path)
        step = local_state(exists, is_dir, empty, toplevel, path, origin, self.repo["url"])
        if step == "clone":
            return self._clone()
        if step == "not_a_clone":
            return self._not_a_clone(is_dir, toplevel, origin)
        return self._update()

    def _not_a_clone(self, is_dir, toplevel, origin):
        if not is_dir:
            why = "it is not a directory"
        elif toplevel is None or os.path.realpath(toplevel) != os.path.realpath(self.path):
            why = "it is not a git repository"
        elif origin is None:
            why = "it has no origin remote"
        else:
            why = "its origin is %s, not %s" % (origin, self.repo["url"])
        return self.done(
            "not_a_clone",
            "%s exists but %s: left alone. Move it away (or fix its origin) and rerun."
            % (self.path, why),
        )

    # -- clone --

    def _clone(self):
        self.entry["_cloning"] = True
        url, version = self.repo["url"], self.repo["version"]
        if self.check_mode:
            ref = version or "HEAD"
            listing = self.git.out(["ls-remote", "--", url, ref])
            commit = _remote_commit(listing, ref)
            if version and commit is None:
                raise GitError(["ls-remote"], 2, "no branch or tag %r on the remote" % version)
            return self.done("would_clone", "Would clone into %s." % self.path, after=commit)
        args = ["clone", "--quiet"]
        if version:
            args += ["--branch", version]
        self.git.run(args + ["--", url, self.path])
        after = self.git.try_out(["rev-parse", "--verify", "--quiet", "HEAD"], self.path)
        return self.done("cloned", "Cloned into %s." % self.path, after=after)

    # -- existing clone --

    def _update(self):
        path = self.path
        head = self.git.try_out(["rev-parse", "--verify", "--quiet", "HEAD"], path)
        self.entry["before"] = head
        # --no-optional-locks: status must not refresh (write) the index, in check mode above all.
        status = ["--no-optional-locks", "status", "--porcelain", "--untracked-files=normal"]
        changes = self.git.out(status, path)
        if changes:
            lines = changes.splitlines()
            return self.done(
                "dirty",
                "%d uncommitted change(s) (%s%s): left alone. Commit or stash them, then rerun."
                % (len(lines), lines[0][3:], ", ..." if len(lines) > 1 else ""),
                before=head,
                after=head,
            )
        if self.update == "none":
            return self.done(
                "unchanged", "Present; update is none: not fetched.", before=head, after=head
            )
        if head is None:
            return self.done("unchanged", "Has no commit yet: nothing to fast-forward.")
        branch = self.git.try_out(["symbolic-ref", "--quiet", "--short", "HEAD"], path)
        if not branch:
            return self.done(
                "unchanged",
                "HEAD is detached (a tag or a commit): nothing to fast-forward.",
                before=head,
                after=head,
            )
        remote = self.git.try_out(["config", "--get", "branch.%s.remote" % branch], path)
        merge = self.git.try_out(["config", "--get", "branch.%s.merge" % branch], path)
        if remote != "origin" or not merge:
            return self.done(
                "unchanged",
                "Branch %s does not track a branch of origin: not updated." % branch,
                before=head,
                after=head,
            )
        upstream = "origin/" + merge.replace("refs/heads/", "", 1)
        target = self._remote_target(merge, upstream, head)
        if target is None:
            return self.done(
                "unchanged",
                "Branch %s tracks %s, which is gone from origin: not updated." % (branch, upstream),
                before=head,
                after=head,
            )
        if isinstance(target, dict):  # check mode could only guess
            return self.done(before=head, **target)
        known = self.git.run(["cat-file", "-e", target + "^{commit}"], path, False)[0] == 0
        if not known:
            raise GitError(["fetch"], 1, "the fetched commit %s is missing" % target)
        relation = compare_commits(
            head,
            target,
            self.git.is_ancestor(head, target, path),
            self.git.is_ancestor(target, head, path),
        )
        return self._apply(relation, branch, upstream, head, target)

    def _remote_target(self, merge, upstream, head):
        """The remote commit of the upstream branch: fetched, or (check mode) listed.

        Returns a sha, None when the branch is gone from origin, or in check mode a ready
        result when the remote commit is not in the clone yet (so ancestry is unknown).
        """
        path = self.path
        if not self.check_mode:
            rc, _, err = self.git.run(
                ["fetch", "--quiet", "--no-tags", "origin", merge], path, False
            )
            if rc != 0:
                if "couldn't find remote ref" in err:
                    return None
                raise GitError(["fetch"], rc, err)
            return self.git.out(["rev-parse", "FETCH_HEAD^{commit}"], path)
        listing = self.git.out(["ls-remote", "origin", merge], path)
        target = _remote_commit(listing, merge)
        if target is None or target == head:
            return target
        if self.git.run(["cat-file", "-e", target + "^{commit}"], path, False)[0] == 0:
            return target
        # Not fetched yet: judge by what origin had at the last fetch.
        last = self.git.try_out(
            ["rev-parse", "--verify", "--quiet", "refs/remotes/" + upstream], path
        )
        if last and not self.git.is_ancestor(head, last, path):
            return dict(
                status="diverged",
                msg="Has local commits not on %s (as last fetched): would be left alone."
                % upstream,
                after=head,
            )
        return dict(
            status="would_update",
            msg="Would fast-forward to %s from %s." % (target[:12], upstream),
            after=target,
        )

    def _apply(self, relation, branch, upstream, head, target):
        path = self.path
        if relation == "unchanged":
            return self.done("unchanged", "Up to date with %s." % upstream, head, head)
        if relation == "fast_forward":
            if self.check_mode:
                return self.done(
                    "would_update",
                    "Would fast-forward %s to %s." % (branch, target[:12]),
                    head,
                    target,
                )
            self.git.run(["merge", "--ff-only", "--quiet", target], path)
            return self.done(
                "updated",
                "Fast-forwarded %s from %s to %s." % (branch, head[:12], target[:12]),
                head,
                target,
            )
        ahead = int(self.git.out(["rev-list", "--count", "%s..%s" % (target, head)], path))
        if relation == "ahead":
            return self.done(
                "diverged",
                "%d local commit(s) on %s not on %s: left alone. Push them when ready."
                % (ahead, branch, upstream),
                head,
                head,
                ahead=ahead,
                behind=0,
            )
        behind = int(self.git.out(["rev-list", "--count", "%s..%s" % (head, target)], path))
        return self.done(
            "diverged",
            "%s has %d local commit(s) and %s %d new one(s): fast-forward impossible, left "
            "alone. Rebase or merge it yourself." % (branch, ahead, upstream, behind),
            head,
            head,
            ahead=ahead,
            behind=behind,
        )


# --- many repositories ------------------------------------------------------------------------


def sync_repositories(repositories, dest, update="ff-only", parallel=4, check_mode=False, git=None):
    """Clone or update every repository into dest/<name>, ``parallel`` at a time.

    Returns {changed, repositories: [entry, ...] in the order given, summary: {status: count}}.
    Raises InputError on bad input; git failures are entries, not exceptions.
    """
    repositories = normalize_repositories(repositories)
    if update not in UPDATE_MODES:
        raise InputError("`update` is %r: use one of %s." % (update, ", ".join(UPDATE_MODES)))
    if not isinstance(parallel, int) or parallel < 1:
        raise InputError("`parallel` is %r: give a whole number of 1 or more." % (parallel,))
    if not dest or not os.path.isabs(dest):
        raise InputError("`dest` is %r: give an absolute directory path." % (dest,))
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise InputError("`dest` %r exists and is not a directory: move it away." % (dest,))
    git = git or Git()
    secrets = set()
    for repo in repositories:
        secrets |= url_secrets(repo["url"])
    if not check_mode:
        os.makedirs(dest, exist_ok=True)
    with ThreadPoolExecutor(max_workers=min(parallel, len(repositories))) as pool:
        entries = list(
            pool.map(
                lambda repo: _Sync(git, repo, dest, update, check_mode, secrets).run(),
                repositories,
            )
        )
    summary, changed = summarize(entries)
    return dict(changed=changed, repositories=entries, summary=summary)
