# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Build Go programs from local source trees, replacing a binary only when its bytes change.

Why our own code: ansible.builtin.command would run `go build` once per service and per
task, and report nothing about whether the result differs. Built with -trimpath and
without VCS stamps, the same sources give the same bytes, so a build that gives the same
sha1 leaves the file (and whatever depends on it, such as an image's recipe) alone.

Even with everything cached, `go build` hashes every source and dependency of the package
(a third of a second or more per program). A binary carries, in an extended attribute, a
fingerprint of what it was built from (each source file's path, size and modification
time, the go command, flags and environment); a rerun that finds the same fingerprint and
the same bytes does not start go at all. Go's own cache has no such "nothing changed"
answer that is cheaper than a build.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import json
import os
import re
import secrets
import subprocess

from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_install import stderr_tail

DEFAULT_FLAGS = ["-trimpath", "-buildvcs=false", "-ldflags=-s -w"]

# Where a binary keeps the fingerprint of its inputs (Linux; elsewhere go always runs).
FINGERPRINT_ATTRIBUTE = "user.vhvcorp.go-build-inputs"
# A replace directive's local target: `replace x => ../y` (or ./y, /y), alone or in a block.
_LOCAL_REPLACE = re.compile(r"=>\s*(\.{1,2}/\S*|/\S*)\s*$", re.MULTILINE)


# How many of the compiler's first lines a failed build reports on its own (the package
# line and the first errors: what a person needs to see which file is wrong).
ERROR_HEAD_LINES = 10


class GoBuildError(Exception):
    """A build that failed; the message names it and says what to look at. ``head``: the
    first lines of go's error output."""

    def __init__(self, message: str, head: str = ""):
        super().__init__(message)
        self.head = head


def stderr_head(text: str) -> str:
    """The first ERROR_HEAD_LINES non-blank lines of go's error output."""
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return "\n".join(lines[:ERROR_HEAD_LINES])


def sha1_of(path):
    """The file's sha1 (hex), or None when there is no such file."""
    digest = hashlib.sha1()  # noqa: S324 - a content fingerprint, as stat's checksum is
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def missing_modules(builds):
    """The builds whose source directory holds no go.mod."""
    return [b for b in builds if not os.path.isfile(os.path.join(b["chdir"], "go.mod"))]


def _identity(path):
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns)


def _source_dirs(module_dir):
    """The module's directory and the local directories its go.mod replaces modules with;
    None when a go.work above it may bring in others (no fingerprint then)."""
    directory = os.path.abspath(module_dir)
    while True:
        if os.path.isfile(os.path.join(directory, "go.work")):
            return None
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    with open(os.path.join(module_dir, "go.mod"), encoding="utf-8") as handle:
        go_mod = handle.read()
    replaced = [os.path.join(module_dir, path) for path in _LOCAL_REPLACE.findall(go_mod)]
    return [os.path.realpath(path) for path in [module_dir, *replaced]]


def _tree_state(root, skip):
    """(relative path, size, mtime) of every file under root, .git and skip left out."""
    state = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d != ".git")
        for name in sorted(files):
            path = os.path.join(directory, name)
            if path == skip:
                continue
            try:
                info = os.stat(path)
            except FileNotFoundError:
                continue
            state.append((os.path.relpath(path, root), info.st_size, info.st_mtime_ns))
    return state


def inputs_fingerprint(go, build, flags, env):
    """A digest of everything `go build` reads for this build that is not addressed by
    version (the module cache is), or None when that cannot be told (a go.work)."""
    dirs = _source_dirs(build["chdir"])
    if dirs is None:
        return None
    go_path = os.path.realpath(go)
    go_info = os.stat(go_path)
    facts = {
        "go": [go_path, go_info.st_size, go_info.st_mtime_ns],
        "flags": list(flags),
        "package": build["package"],
        "env": sorted((k, v) for k, v in env.items() if k.startswith(("GO", "CGO_", "CC"))),
        "trees": [[d, _tree_state(d, build["output"])] for d in dirs],
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def _read_stamp(output):
    try:
        return json.loads(os.getxattr(output, FINGERPRINT_ATTRIBUTE))
    except (AttributeError, OSError, ValueError):
        return None


def _write_stamp(output, fingerprint, sha1):
    # No extended attributes here (macOS, some filesystems): go runs every time.
    with contextlib.suppress(AttributeError, OSError):
        os.setxattr(
            output,
            FINGERPRINT_ATTRIBUTE,
            json.dumps({"inputs": fingerprint, "sha1": sha1}).encode(),
        )


def _build_one(go, build, flags, env):
    output = build["output"]
    fingerprint = inputs_fingerprint(go, build, flags, env)
    stamp = _read_stamp(output) if fingerprint else None
    if stamp and stamp.get("inputs") == fingerprint:
        current = sha1_of(output)
        if current == stamp.get("sha1"):
            return {"name": build["name"], "output": output, "sha1": current, "changed": False}
    result = _go_build(go, build, flags, env)
    if fingerprint:
        _write_stamp(output, fingerprint, result["sha1"])
    return result


def _go_build(go, build, flags, env):
    """Build straight onto the output: go leaves a binary whose build ID is up to date as it
    is (no relink, a third of a second), and otherwise links it in its work directory and
    moves it into place. The previous binary is kept under a hard link until the new one is
    compared with it, so a relink that gives the same bytes is not reported as a change."""
    output = build["output"]
    directory = os.path.dirname(output)
    os.makedirs(directory, exist_ok=True)
    before = _identity(output)
    previous = None
    if before is not None:
        previous = os.path.join(
            directory, ".%s.%s.previous" % (os.path.basename(output), secrets.token_hex(4))
        )
        os.link(output, previous)
    try:
        argv = [go, "build", *flags, "-o", output, build["package"]]
        result = subprocess.run(
            argv, cwd=build["chdir"], env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise GoBuildError(
                "`go build %s` of %s in %s failed (exit %d):\n%s\nFix the sources (run the same "
                "command there to see it all), then rerun."
                % (
                    build["package"],
                    build["name"],
                    build["chdir"],
                    result.returncode,
                    stderr_tail(result.stderr),
                ),
                head=stderr_head(result.stderr),
            )
        new = sha1_of(output)
        if _identity(output) == before:
            changed = False
        else:
            changed = previous is None or sha1_of(previous) != new
        return {"name": build["name"], "output": output, "sha1": new, "changed": changed}
    finally:
        if previous is not None and os.path.lexists(previous):
            os.unlink(previous)


def _build_or_report(go, build, flags, env):
    """One build whose failure is a result, not an exception: msg (the whole message) and
    error (the compiler's first lines); sha1 None, the binary left as it was. (No `failed`
    key: Ansible would take the whole task for failed from one item of `results`.)"""
    try:
        return _build_one(go, build, flags, env)
    except GoBuildError as exc:
        return {
            "name": build["name"],
            "output": build["output"],
            "sha1": None,
            "changed": False,
            "msg": str(exc),
            "error": exc.head,
        }


def build_all(
    go, builds, flags=None, environment=None, check_mode=False, workers=None, fail_on_error=True
):
    """Build each of ``builds`` ({name, chdir, package, output}); returns one result each.

    In check mode nothing is built: each result carries the present binary's sha1 (None when
    there is none) and changed is true only where there is none yet. fail_on_error false:
    a build that fails is a result with an error (see _build_or_report) and the others
    go on; true: the first failure raises GoBuildError.
    """
    if check_mode:
        results = []
        for build in builds:
            current = sha1_of(build["output"])
            results.append(
                {
                    "name": build["name"],
                    "output": build["output"],
                    "sha1": current,
                    "changed": current is None,
                }
            )
        return results
    env = dict(os.environ)
    env.update({str(k): str(v) for k, v in (environment or {}).items()})
    flags = DEFAULT_FLAGS if flags is None else flags
    # Builds of cached sources are mostly linking, one core each: two at a time on two cores.
    workers = workers or min(len(builds) or 1, os.cpu_count() or 1)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        build_one = _build_one if fail_on_error else _build_or_report
        futures = [pool.submit(build_one, go, build, flags, env) for build in builds]
        return [future.result() for future in futures]
