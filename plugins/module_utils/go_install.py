# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Install Go programs with `go install <package>@<version>`, skipping the ones in place.

Why our own code: no collection installs Go tools with a version check (community.general
has no Go module, ansible.builtin only `command`), and `go install` alone rebuilds or at
least re-resolves every tool on every run. What a binary was built from is written into it
(`go version -m`), so comparing that with the wanted package and version is exact and fast.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile

# Where a `go` is looked for when none is named and none is on PATH: the go_toolchain role's
# links (as root, as a user), the upstream archive's place, Homebrew's and Debian's.
GO_SEARCH_DIRS = (
    "/usr/local/bin",
    "~/.local/bin",
    "/usr/local/go/bin",
    "/opt/homebrew/bin",
    "/usr/lib/go/bin",
)

# Pinned versions only: a rerun must be able to tell "already there" without asking the
# network, which `latest`, `upgrade` and `patch` (moving targets) would need.
MOVING_QUERIES = ("latest", "upgrade", "patch")
VERSION_RE = re.compile(r"^v\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$")
STDERR_TAIL_LINES = 15


class GoInstallError(Exception):
    """A problem the user can fix; the message says what and how."""


def binary_name(package: str) -> str:
    """The file name `go install` gives the program built from package.

    Go's rule (cmd/go DefaultExecName): the last path element, except a major-version
    suffix such as /v4 names the element before it (.../migrate/v4 -> migrate).
    """
    parts = package.rstrip("/").split("/")
    last = parts[-1]
    if len(parts) > 1 and re.fullmatch(r"v[2-9]\d*|v1\d+", last):
        last = parts[-2]
    return last


def normalize_tools(tools: list[dict]) -> list[dict]:
    """Check the `tools` option and fill in the defaults; raise GoInstallError on bad input."""
    normalized, seen = [], {}
    for index, tool in enumerate(tools or []):
        where = f"tools[{index}]"
        package = (tool.get("package") or "").strip()
        if not package or "@" in package or " " in package:
            raise GoInstallError(
                f"{where}.package is {package!r}: give an import path without a version, "
                "such as github.com/air-verse/air (the version goes in `version`)."
            )
        name = tool.get("name") or binary_name(package)
        if "/" in name or name in (".", ".."):
            raise GoInstallError(f"{where}.name is {name!r}: give a plain file name, such as air.")
        version = str(tool.get("version") or "").strip()
        if version in MOVING_QUERIES or not VERSION_RE.match(version):
            raise GoInstallError(
                f"{where}.version is {version!r} for tool {name!r}: give a pinned version such "
                "as v1.2.3 (`go list -m -versions <module>` lists them); "
                f"moving queries such as {', '.join(MOVING_QUERIES)} cannot be checked offline."
            )
        tags = tool.get("tags") or []
        if isinstance(tags, str):
            tags = [t for t in tags.split(",") if t]
        env = {str(k): str(v) for k, v in (tool.get("env") or {}).items()}
        if name in seen:
            raise GoInstallError(
                f"{where} installs {name!r}, as tools[{seen[name]}] does: one binary name per "
                "tool; remove one or set a different `name`."
            )
        seen[name] = index
        normalized.append(
            {
                "name": name,
                "package": package,
                "version": version,
                "tags": sorted(str(t).strip() for t in tags),
                "env": env,
            }
        )
    return normalized


def parse_version_m(text: str) -> dict | None:
    """Read `go version -m <binary>` output: main package, module, version, build tags.

    Returns None when the text has no `path` line (not a Go program built with modules).
    """
    info = {"go_version": None, "path": None, "module": None, "version": None, "tags": []}
    settings = {}
    lines = text.splitlines()
    if lines and ": go" in lines[0]:
        info["go_version"] = lines[0].rsplit(": ", 1)[1].strip()
    for line in lines[1:]:
        fields = line.strip().split("\t")
        if fields[0] == "path" and len(fields) >= 2:
            info["path"] = fields[1]
        elif fields[0] == "mod" and len(fields) >= 3:
            info["module"], info["version"] = fields[1], fields[2]
        elif fields[0] == "build" and len(fields) >= 2 and "=" in fields[1]:
            key, value = fields[1].split("=", 1)
            settings[key] = value.strip('"')
    if info["path"] is None:
        return None
    tags = settings.get("-tags", "")
    info["tags"] = sorted(t for t in tags.split(",") if t)
    return info


def decide(tool: dict, info: dict | None, exists: bool) -> tuple[str, str]:
    """What to do about one tool: (status, reason).

    status is `installed` (nothing there), `upgraded` (something else there: another
    version, module path or build tags, or a file that is not a Go program) or
    `unchanged`.
    """
    if not exists:
        return "installed", "not installed"
    if info is None:
        return "upgraded", "the file is not a Go program built from a module"
    if info["path"] != tool["package"]:
        return "upgraded", f"built from {info['path']}, not {tool['package']}"
    if info["version"] != tool["version"]:
        return "upgraded", f"version {info['version']} is installed, {tool['version']} is wanted"
    if info["tags"] != tool["tags"]:
        return "upgraded", f"built with tags {info['tags']}, {tool['tags']} are wanted"
    return "unchanged", "same package, version and tags"


def find_go(go: str | None) -> str:
    """The go binary: the one named, else the one on PATH, else one in GO_SEARCH_DIRS."""
    if go:
        path = os.path.expanduser(go)
        if os.sep not in path:
            path = shutil.which(path) or path
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise GoInstallError(
                f"go is {go!r}, which is not an executable file: install Go (the "
                "vhvcorp.devtools.go_toolchain role does) or set `go` to its path."
            )
        return path
    found = shutil.which("go")
    if found:
        return found
    for directory in GO_SEARCH_DIRS:
        path = os.path.join(os.path.expanduser(directory), "go")
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise GoInstallError(
        "No go binary on PATH nor in " + ", ".join(GO_SEARCH_DIRS) + ": install Go (the "
        "vhvcorp.devtools.go_toolchain role does) or set `go` to its path."
    )


def stderr_tail(text: str) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return "\n".join(lines[-STDERR_TAIL_LINES:])


class GoInstaller:
    """Runs one go binary with one environment; every command goes through _run."""

    def __init__(self, go: str, environment: dict | None = None):
        self.go = go
        self.environment = {str(k): str(v) for k, v in (environment or {}).items()}
        self.go_env = self._read_go_env()

    def _env(self, extra: dict | None = None) -> dict:
        env = dict(os.environ)
        env.update(self.environment)
        env.update(extra or {})
        return env

    def _run(self, argv: list[str], extra_env: dict | None = None):
        return subprocess.run(
            [self.go, *argv],
            capture_output=True,
            text=True,
            env=self._env(extra_env),
            check=False,
        )

    def _read_go_env(self) -> dict:
        result = self._run(["env", "-json", "GOVERSION", "GOPATH", "GOBIN", "GOPROXY"])
        if result.returncode != 0:
            raise GoInstallError(
                f"`{self.go} env` failed (exit {result.returncode}): {stderr_tail(result.stderr)}. "
                "Check that this is a working Go installation, or set `go` to another."
            )
        return json.loads(result.stdout)

    @property
    def go_version(self) -> str:
        return self.go_env.get("GOVERSION", "")

    def default_gobin(self) -> str:
        """GOBIN when the environment sets it, else the first GOPATH entry's bin, as go does."""
        if self.go_env.get("GOBIN"):
            return self.go_env["GOBIN"]
        return os.path.join(self.go_env["GOPATH"].split(os.pathsep)[0], "bin")

    def inspect(self, path: str) -> dict | None:
        """What the binary at path was built from, or None for a file go cannot read."""
        result = self._run(["version", "-m", path])
        if result.returncode != 0:
            return None
        return parse_version_m(result.stdout)

    def install(self, tool: dict, gobin: str) -> None:
        """Build tool into a scratch dir inside gobin, then move it into place in one rename.

        The scratch dir lets `name` differ from the name go gives the binary, and a binary
        being replaced is never half-written.
        """
        scratch = tempfile.mkdtemp(prefix=".go_install-", dir=gobin)
        try:
            argv = ["install"]
            if tool["tags"]:
                argv.append("-tags=" + ",".join(tool["tags"]))
            argv.append(f"{tool['package']}@{tool['version']}")
            result = self._run(argv, dict(tool["env"], GOBIN=scratch))
            if result.returncode != 0:
                raise GoInstallError(
                    f"`go install {tool['package']}@{tool['version']}` failed for tool "
                    f"{tool['name']!r} (exit {result.returncode}):\n{stderr_tail(result.stderr)}\n"
                    f"Check that version {tool['version']} exists and holds that package "
                    "(`go list -m -versions <module>` lists them), that the module "
                    f"proxy answers (GOPROXY={self.go_env.get('GOPROXY')}), and that"
                    f" {self.go_version} is new enough for it; then fix the tool's "
                    "entry and rerun."
                )
            built = os.path.join(scratch, binary_name(tool["package"]))
            if not os.path.isfile(built):
                raise GoInstallError(
                    f"`go install` made no {binary_name(tool['package'])!r} for tool "
                    f"{tool['name']!r}: is {tool['package']} a main package?"
                )
            os.replace(built, os.path.join(gobin, tool["name"]))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def describe(tool: dict | None) -> str:
    if not tool:
        return ""
    tags = f" (tags {','.join(tool['tags'])})" if tool.get("tags") else ""
    return f"{tool['name']} {tool['package']}@{tool['version']}{tags}\n"


def ensure_tools(
    installer: GoInstaller, tools: list[dict], gobin: str, check_mode: bool = False
) -> dict:
    """Install what is missing or different; the result is the module's return value.

    Every tool is tried even when one fails, so one run names every problem; the failures
    are in `failed` (the module then fails with all of them).
    """
    if not check_mode:
        os.makedirs(gobin, exist_ok=True)
    results, failed, before, after = [], [], [], []
    for tool in tools:
        path = os.path.join(gobin, tool["name"])
        exists = os.path.lexists(path)
        info = installer.inspect(path) if exists else None
        status, reason = decide(tool, info, exists)
        entry = {
            "name": tool["name"],
            "package": tool["package"],
            "version": tool["version"],
            "tags": tool["tags"],
            "path": path,
            "status": status,
            "reason": reason,
            "previous_package": info["path"] if info else None,
            "previous_version": info["version"] if info else None,
        }
        if info:
            before.append(
                describe(
                    dict(tool, package=info["path"], version=info["version"], tags=info["tags"])
                )
            )
        after.append(describe(tool))
        if status != "unchanged" and not check_mode:
            try:
                installer.install(tool, gobin)
            except GoInstallError as exc:
                entry["status"] = "failed"
                entry["reason"] = str(exc)
                failed.append(str(exc))
        results.append(entry)
    by_status = {
        s: [r["name"] for r in results if r["status"] == s]
        for s in ("installed", "upgraded", "unchanged", "failed")
    }
    return {
        "changed": bool(by_status["installed"] or by_status["upgraded"]),
        "gobin": gobin,
        "go": installer.go,
        "go_version": installer.go_version,
        "tools": results,
        "installed": by_status["installed"],
        "upgraded": by_status["upgraded"],
        "unchanged": by_status["unchanged"],
        "failed": failed,
        "diff": {"before": "".join(before), "after": "".join(after)},
    }


def preview_without_go(tools: list[dict], gobin: str | None, why: str) -> dict:
    """Check mode on a machine with no Go yet (go_toolchain would install it): every tool
    would be installed, since there is nothing to build them with or to have built them."""
    gobin = gobin or os.path.expanduser("~/go/bin")
    results = [
        {
            "name": tool["name"],
            "package": tool["package"],
            "version": tool["version"],
            "tags": tool["tags"],
            "path": os.path.join(gobin, tool["name"]),
            "status": "installed",
            "reason": why,
            "previous_package": None,
            "previous_version": None,
        }
        for tool in tools
    ]
    return {
        "changed": bool(results),
        "gobin": gobin,
        "go": None,
        "go_version": None,
        "tools": results,
        "installed": [r["name"] for r in results],
        "upgraded": [],
        "unchanged": [],
        "failed": [],
        "diff": {"before": "", "after": "".join(describe(t) for t in tools)},
    }
