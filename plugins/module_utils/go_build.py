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

A build may name local clones of library modules (`replace`: module path -> directory).
Its go.mod's replace directives were written for someone else's layout (the platform's
`replace github.com/vhvplatform/go-shared => ../../go-shared`), so the build gets a go.work
of its own, outside the clone (`workfile`, used through GOWORK): `use` of its module and
`replace <module> => <directory>` for each library its go.mod requires and whose clone is
there; a go.work replace wins over the go.mod's. One go.work per build, since the
services require different versions of their other modules. The go.mod is read here rather
than with `go mod edit -json`, so that a rerun with nothing changed still starts no go.
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
# A go.mod path that needs no quotes in a go.work (others are written as Go strings).
_BARE = re.compile(r"^[A-Za-z0-9_./@+~-]+$")


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


def go_mod_directives(text):
    """The directives of a go.mod: [(verb, [token, ...])], a block's lines each under its
    verb, comments left out."""
    directives, block = [], None
    for raw in text.splitlines():
        tokens = raw.split("//", 1)[0].split()
        if not tokens:
            continue
        if block is not None:
            if tokens == [")"]:
                block = None
            else:
                directives.append((block, tokens))
        elif tokens[1:] == ["("]:
            block = tokens[0]
        else:
            directives.append((tokens[0], tokens[1:]))
    return directives


def _local_replaces(directives):
    """{module: target} of the replace directives whose target is a directory."""
    local = {}
    for verb, tokens in directives:
        if verb == "replace" and "=>" in tokens:
            arrow = tokens.index("=>")
            target = tokens[arrow + 1 : arrow + 2]
            if tokens[:1] and target and target[0].startswith(("./", "../", "/")):
                local[tokens[0]] = target[0]
    return local


def _quoted(path):
    return path if _BARE.match(path) else json.dumps(path)


def workfile_text(module_dir, directives, replace):
    """The go.work of a build: the go version of its go.mod, `use` of its module and a
    replace for each module of ``replace`` ({module: directory}) that its go.mod requires
    and whose directory holds a go.mod (a library not cloned: the go.mod's own rule)."""
    required = {tokens[0] for verb, tokens in directives if verb == "require" and tokens}
    version = next((tokens[0] for verb, tokens in directives if verb == "go" and tokens), None)
    lines = ["// Written by vhvcorp.devtools' go_build for this build; rewritten on every build."]
    if version:
        lines.append("go %s" % version)
    # Real paths: go compares `use` with its working directory with symlinks resolved (the
    # collection is often reached through one, e.g. a checkout's .collections link).
    lines += ["", "use %s" % _quoted(os.path.realpath(module_dir))]
    for module in sorted(replace or {}):
        directory = os.path.realpath(replace[module])
        if module in required and os.path.isfile(os.path.join(directory, "go.mod")):
            lines.append("replace %s => %s" % (module, _quoted(directory)))
    return "\n".join(lines) + "\n"


def _replaced_in(text):
    """{module: directory} of a go.work's replace lines (as workfile_text writes them)."""
    found = {}
    for verb, tokens in go_mod_directives(text):
        if verb == "replace" and len(tokens) == 3 and tokens[1] == "=>":
            found[tokens[0]] = json.loads(tokens[2]) if tokens[2].startswith('"') else tokens[2]
    return found


def _source_dirs(build, workfile):
    """The directories whose files the build reads (not addressed by version): the module's,
    the libraries the go.work replaces modules with, and the local directories of the
    go.mod's other replace directives. None when a go.work above the module may bring in
    others (no fingerprint then; a build with its own workfile ignores those)."""
    module_dir = build["chdir"]
    if workfile is None:
        directory = os.path.abspath(module_dir)
        while True:
            if os.path.isfile(os.path.join(directory, "go.work")):
                return None
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
    local = _local_replaces(build["directives"])
    libraries = _replaced_in(workfile) if workfile else {}
    replaced = [os.path.join(module_dir, path) for m, path in local.items() if m not in libraries]
    dirs = [module_dir, *sorted(libraries.values()), *replaced]
    return [os.path.realpath(path) for path in dirs]


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


def inputs_fingerprint(go, build, flags, env, workfile=None):
    """A digest of everything `go build` reads for this build that is not addressed by
    version (the module cache is), or None when that cannot be told (a go.work above the
    module, and no workfile of the build's own). workfile: the text of the build's go.work."""
    dirs = _source_dirs(build, workfile)
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
        "workfile": [build.get("workfile"), workfile],
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


def _write_if_changed(path, text, check_mode=False):
    """Write text to path (atomically) unless it holds that text already; True if it did
    (or, in check mode, would)."""
    with contextlib.suppress(FileNotFoundError), open(path, encoding="utf-8") as handle:
        if handle.read() == text:
            return False
    if check_mode:
        return True
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = "%s.%s.partial" % (path, secrets.token_hex(4))
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(partial, path)
    return True


def sync_workfile(build, check_mode=False):
    """Brings the build's go.work to what its go.mod needs: (the build with its go.mod's
    directives, the text of its go.work (None: it has none), whether the file changed). The
    go.work is written (or kept) only where it replaces a library; otherwise the module
    builds as it is, in module mode (workspace mode would refuse a GOFLAGS=-mod=mod of the
    user's, for one), and a stale go.work is removed."""
    with open(os.path.join(build["chdir"], "go.mod"), encoding="utf-8") as handle:
        build = dict(build, directives=go_mod_directives(handle.read()))
    if not build.get("workfile"):
        return build, None, False
    text = workfile_text(build["chdir"], build["directives"], build.get("replace"))
    if _replaced_in(text):
        return build, text, _write_if_changed(build["workfile"], text, check_mode)
    if not os.path.exists(build["workfile"]):
        return build, None, False
    if not check_mode:
        os.unlink(build["workfile"])
    return build, None, True


def write_workfiles(builds, check_mode=False):
    """Only the go.work of each build (sync_workfile), for what builds outside this
    module: an editor's debugger, the stack's dev containers. One result per build: name,
    workfile (its path, or None where it has none) and changed."""
    results = []
    for build in builds:
        _, text, changed = sync_workfile(build, check_mode)
        results.append(
            {
                "name": build["name"],
                "workfile": build["workfile"] if text else None,
                "changed": changed,
            }
        )
    return results


def env_with_workfile(build, env):
    """(build with its go.mod's directives, env, the go.work text or None): sync_workfile,
    and GOWORK in env naming the go.work where there is one; go_test runs tests the same way."""
    build, workfile, _ = sync_workfile(build)
    if workfile:
        env = dict(env, GOWORK=build["workfile"])
    return build, env, workfile


def _build_one(go, build, flags, env):
    output = build["output"]
    build, env, workfile = env_with_workfile(build, env)
    fingerprint = inputs_fingerprint(go, build, flags, env, workfile)
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
            gowork = "GOWORK=%s " % env["GOWORK"] if build.get("workfile") else ""
            raise GoBuildError(
                "`%sgo build %s` of %s in %s failed (exit %d):\n%s\nFix the sources (run the "
                "same command there to see it all), then rerun."
                % (
                    gowork,
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
    """Build each of ``builds`` ({name, chdir, package, output}, and optionally workfile
    and replace: see the module's docstring); returns one result each.

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
