# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run the code generators a service's clone needs before `go build` (protoc, swag, ...).

Why our own code: ansible.builtin.command would cost a module run per service and step,
and has no "nothing changed" answer: protoc and swag rewrite their files on every run,
which would in turn make every `go build` (and image recipe) look at new files. A step
here keeps, in a state file outside the clone, a fingerprint of what it ran from (its
command, the tools' binaries, the paths, sizes and modification times of its input files)
and of the files it wrote; a rerun that finds both as they were does not start the tool.

A step is one of:
- protoc: `protoc -I<include>... --<plugin>_out=<out> --<plugin>_opt=<opt>... <args> <files>`,
  the files being the `files` globs expanded in `chdir` (their inputs), the outputs each
  plugin's `out`;
- swag: `swag init -g <main> -o <output> <args>`, every .go file under `chdir` but the
  output as inputs;
- command: any argv, with the `inputs` globs and `outputs` paths said by the caller.
Every step may add `inputs` (more globs whose changes make it run again).
"""

from __future__ import annotations

import concurrent.futures
import glob
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

TOOLS = ("protoc", "swag", "command")
# protoc's own generators: no protoc-gen-<name> binary to look for.
PROTOC_BUILTINS = ("cpp", "csharp", "java", "kotlin", "objc", "php", "pyi", "python", "ruby")
OUTPUT_LINES = 15
_STEP_KEYS = {
    "protoc": {"tool", "chdir", "include", "files", "plugins", "args", "inputs"},
    "swag": {"tool", "chdir", "main", "output", "args", "inputs"},
    "command": {"tool", "chdir", "command", "inputs", "outputs"},
}


class GenerateError(Exception):
    """A step that is wrong or failed; the message names the service and says what to do."""


def _strings(value, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, list):
        raise GenerateError(f"{where} is {value!r}; give a list of strings.")
    return [str(v) for v in value]


def _relative(value, where: str, default: str) -> str:
    path = str(value if value not in (None, "") else default)
    if os.path.isabs(path) or path.startswith("~"):
        raise GenerateError(
            f"{where} is {path!r}; give a path relative to the clone, such as server/proto."
        )
    return path


def normalize_steps(steps, where: str) -> list[dict]:
    """Check a service's generation steps (the catalog's generate) and fill in their
    defaults; raise GenerateError quoting the bad value and its place."""
    if steps in (None, []):
        return []
    if not isinstance(steps, list):
        raise GenerateError(f"{where} is {steps!r}; give a list of steps such as [{{tool: swag}}].")
    normalized = []
    for index, raw in enumerate(steps):
        at = f"{where}[{index}]"
        if not isinstance(raw, dict):
            raise GenerateError(f"{at} is {raw!r}; give a mapping with a `tool`.")
        tool = raw.get("tool")
        if tool not in TOOLS:
            raise GenerateError(f"{at}.tool is {tool!r}; choose one of {', '.join(TOOLS)}.")
        unknown = sorted(set(raw) - _STEP_KEYS[tool])
        if unknown:
            raise GenerateError(
                f"{at} has {', '.join(unknown)}, which a {tool} step does not take; it takes "
                f"{', '.join(sorted(_STEP_KEYS[tool]))}."
            )
        step = {
            "tool": tool,
            "chdir": _relative(raw.get("chdir"), f"{at}.chdir", "."),
            "inputs": _strings(raw.get("inputs"), f"{at}.inputs"),
        }
        if tool == "protoc":
            step.update(_protoc(raw, at))
        elif tool == "swag":
            step.update(
                main=str(raw.get("main") or "main.go"),
                output=_relative(raw.get("output"), f"{at}.output", "docs"),
                args=_strings(raw.get("args"), f"{at}.args"),
            )
        else:
            command = _strings(raw.get("command"), f"{at}.command")
            if not command:
                raise GenerateError(
                    f"{at}.command is empty; give the argv, such as [buf, generate]."
                )
            step.update(command=command, outputs=_strings(raw.get("outputs"), f"{at}.outputs"))
        normalized.append(step)
    return normalized


def _protoc(raw: dict, at: str) -> dict:
    files = _strings(raw.get("files"), f"{at}.files")
    if not files:
        raise GenerateError(f"{at}.files is empty; give the .proto files, such as ['*.proto'].")
    plugins = []
    for index, plugin in enumerate(raw.get("plugins") or []):
        where = f"{at}.plugins[{index}]"
        if not isinstance(plugin, dict) or not plugin.get("name") or not plugin.get("out"):
            raise GenerateError(
                f"{where} is {plugin!r}; give a name and an out, such as "
                "{name: go, out: ../internal/pb, opt: [paths=source_relative]}."
            )
        plugins.append(
            {
                "name": str(plugin["name"]),
                "out": str(plugin["out"]),
                "opt": _strings(plugin.get("opt"), f"{where}.opt"),
            }
        )
    if not plugins:
        raise GenerateError(f"{at}.plugins is empty; name the generators, such as go and go-grpc.")
    return {
        "include": _strings(raw.get("include"), f"{at}.include") or ["."],
        "files": files,
        "plugins": plugins,
        "args": _strings(raw.get("args"), f"{at}.args"),
    }


# --- what a step runs, reads and writes ---------------------------------------------------


def _expand(patterns: list[str], chdir: str) -> list[str]:
    """The files the glob patterns match under chdir (** spans directories), sorted."""
    found = set()
    for pattern in patterns:
        for path in glob.glob(pattern, root_dir=chdir, recursive=True):
            if os.path.isfile(os.path.join(chdir, path)):
                found.add(os.path.normpath(path))
    return sorted(found)


def plan(step: dict, chdir: str) -> dict:
    """The argv, the binaries it needs, its input files and its outputs (relative to chdir)."""
    tool = step["tool"]
    if tool == "protoc":
        files = _expand(step["files"], chdir)
        argv = ["protoc"]
        argv += ["-I" + os.path.expanduser(include) for include in step["include"]]
        for plugin in step["plugins"]:
            argv.append(f"--{plugin['name']}_out={plugin['out']}")
            argv += [f"--{plugin['name']}_opt={opt}" for opt in plugin["opt"]]
        argv += step["args"] + files
        binaries = ["protoc"] + [
            "protoc-gen-" + p["name"] for p in step["plugins"] if p["name"] not in PROTOC_BUILTINS
        ]
        outputs = list(dict.fromkeys(p["out"] for p in step["plugins"]))
        inputs = sorted(set(files) | set(_expand(step["inputs"], chdir)))
        return {
            "argv": argv,
            "binaries": binaries,
            "inputs": inputs,
            "outputs": outputs,
            "empty": not files,
        }
    if tool == "swag":
        argv = ["swag", "init", "-g", step["main"], "-o", step["output"], *step["args"]]
        output = os.path.normpath(step["output"]) + os.sep
        sources = [p for p in _expand(["**/*.go"], chdir) if not p.startswith(output)]
        inputs = sorted(set(sources) | set(_expand(step["inputs"], chdir)))
        return {
            "argv": argv,
            "binaries": ["swag"],
            "inputs": inputs,
            "outputs": [step["output"]],
            "empty": False,
        }
    return {
        "argv": list(step["command"]),
        "binaries": [step["command"][0]],
        "inputs": _expand(step["inputs"], chdir),
        "outputs": list(step["outputs"]),
        "empty": False,
    }


def _file_state(chdir: str, relative: list[str]) -> list:
    state = []
    for path in relative:
        try:
            info = os.stat(os.path.join(chdir, path))
        except FileNotFoundError:
            state.append([path, None])
            continue
        state.append([path, info.st_size, info.st_mtime_ns])
    return state


def outputs_state(chdir: str, outputs: list[str]) -> list:
    """(path, size, mtime) of every file under each output (a file or a directory)."""
    state = []
    for output in outputs:
        root = os.path.normpath(os.path.join(chdir, output))
        if os.path.isfile(root):
            state += _file_state(chdir, [output])
            continue
        for directory, subdirs, files in os.walk(root):
            subdirs.sort()
            rel = [os.path.relpath(os.path.join(directory, f), chdir) for f in sorted(files)]
            state += _file_state(chdir, rel)
    return state


def _digest(facts) -> str:
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def fingerprint(planned: dict, chdir: str, tools: dict) -> str:
    """A digest of what the step runs from: argv, place, the tools' binaries, its inputs."""
    return _digest(
        {
            "argv": planned["argv"],
            "chdir": os.path.realpath(chdir),
            "tools": sorted(tools.items()),
            "inputs": _file_state(chdir, planned["inputs"]),
        }
    )


def resolve_tools(binaries: list[str], path: str) -> tuple[dict, list[str]]:
    """{binary: [realpath, size, mtime]} of those found on path, and the missing ones."""
    found, missing = {}, []
    for binary in binaries:
        where = shutil.which(binary, path=path)
        if where is None:
            missing.append(binary)
            continue
        real = os.path.realpath(where)
        info = os.stat(real)
        found[binary] = [real, info.st_size, info.st_mtime_ns]
    return found, missing


def _how_to_install(binary: str) -> str:
    if binary == "protoc":
        return (
            "install protoc (Debian and Ubuntu: protobuf-compiler, Fedora: protobuf-compiler, "
            "macOS: brew install protobuf; setup.yml --tags deps does on Debian and macOS)"
        )
    if binary.startswith("protoc-gen-") or binary == "swag":
        return (
            "install the Go tools (setup.yml --tags go; go_tools_list pins protoc-gen-go, "
            "protoc-gen-go-grpc, protoc-gen-grpc-gateway, protoc-gen-openapiv2 and swag)"
        )
    return "install it, or put its directory on PATH"


def first_lines(text: str, count: int = OUTPUT_LINES) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return "\n".join(lines[:count])


# --- one service, all services ------------------------------------------------------------


def _state_file(state_dir: str, name: str) -> str:
    return os.path.join(state_dir, name + ".json")


def _read_state(path: str) -> list:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle).get("steps", [])
    except (OSError, ValueError):
        return []


def _write_state(path: str, steps: list) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, scratch = tempfile.mkstemp(prefix=".generate-", dir=os.path.dirname(path))
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"steps": steps}, handle)
    os.replace(scratch, path)


def _step_result(step, planned, workdir, status, output=""):
    return {
        "tool": step["tool"],
        "chdir": workdir,
        "argv": planned["argv"] if planned else None,
        "status": status,
        "output": output,
    }


def generate_one(service: dict, state_dir: str, env: dict, check_mode: bool = False) -> dict:
    """Run (or, unchanged, skip) each step of one service, in order; never raises for a
    step that fails: the result's status is `failed` and its error the reason. (No `failed`
    key: Ansible would take a true one in a module's `results` for the task's failure.)"""
    name, clone = service["name"], service["chdir"]
    result = {
        "name": name,
        "status": "unchanged",
        "changed": False,
        "error": None,
        "steps": [],
    }
    if not os.path.isdir(clone):
        result["status"] = "missing"
        return result
    state_path = _state_file(state_dir, name)
    previous = _read_state(state_path)
    recorded = []
    for index, step in enumerate(service["steps"]):
        workdir = os.path.normpath(os.path.join(clone, step["chdir"]))
        before = previous[index] if index < len(previous) else {}
        if not os.path.isdir(workdir):
            return _failed(
                result,
                step,
                None,
                workdir,
                (
                    f"{name}: the {step['tool']} step's directory {step['chdir']} is not in the "
                    f"clone {clone}. Check the clone (is it the repository the catalog names?) or "
                    "fix the step's chdir in its catalog entry's generate."
                ),
            )
        planned = plan(step, workdir)
        if planned["empty"]:
            return _failed(
                result,
                step,
                planned,
                workdir,
                (
                    f"{name}: the {step['tool']} step finds no files matching "
                    f"{', '.join(step['files'])} in {workdir}; fix its files in its catalog "
                    "entry's generate."
                ),
            )
        tools, missing = resolve_tools(planned["binaries"], env["PATH"])
        if missing and not check_mode:
            return _failed(
                result,
                step,
                planned,
                workdir,
                (
                    f"{name}: {', '.join(missing)} not found on PATH ({env['PATH']}), so its "
                    f"{step['tool']} step cannot run: "
                    + _how_to_install(missing[0])
                    + ", then rerun."
                ),
            )
        inputs = fingerprint(planned, workdir, tools)
        outputs = _digest(outputs_state(workdir, planned["outputs"]))
        if not missing and before == {"inputs": inputs, "outputs": outputs}:
            result["steps"].append(_step_result(step, planned, workdir, "unchanged"))
            recorded.append(before)
            continue
        result["changed"], result["status"] = True, "generated"
        if check_mode:
            result["steps"].append(_step_result(step, planned, workdir, "would_run"))
            recorded.append(before)
            continue
        if step["tool"] == "protoc":  # protoc writes into its out directories, never makes them
            for out in planned["outputs"]:
                os.makedirs(os.path.join(workdir, out), exist_ok=True)
        run = subprocess.run(
            planned["argv"], cwd=workdir, env=env, capture_output=True, text=True, check=False
        )
        output = first_lines((run.stderr or "") + "\n" + (run.stdout or ""))
        if run.returncode != 0:
            _write_state(state_path, recorded)
            return _failed(
                result,
                step,
                planned,
                workdir,
                (
                    f"{name}: `{' '.join(planned['argv'])}` in {workdir} failed (exit "
                    f"{run.returncode}):\n{output}{_include_hint(step, workdir)}\nFix the "
                    "sources or the step (its catalog entry's generate), run the same command "
                    "there to see it all, then rerun."
                ),
                output,
            )
        result["steps"].append(_step_result(step, planned, workdir, "ran", output))
        _exclude_from_git(clone, workdir, planned["outputs"])
        # Taken again after the run: a generator may touch what it reads (a command's inputs).
        recorded.append(
            {
                "inputs": fingerprint(planned, workdir, tools),
                "outputs": _digest(outputs_state(workdir, planned["outputs"])),
            }
        )
    if not check_mode and recorded != previous:
        _write_state(state_path, recorded)
    return result


def _exclude_from_git(clone: str, workdir: str, outputs: list[str]) -> None:
    """List the outputs in the clone's .git/info/exclude (git's own per-clone ignore list,
    never committed): generated files are not the developer's work, and untracked ones would
    make `git status`, and so the repositories role, take the clone for a dirty one and stop
    updating it. Tracked files stay tracked (an exclude does not hide their changes)."""
    info = os.path.join(clone, ".git", "info")
    if not os.path.isdir(os.path.join(clone, ".git")):
        return
    exclude = os.path.join(info, "exclude")
    try:
        with open(exclude, encoding="utf-8") as handle:
            present = set(handle.read().splitlines())
    except FileNotFoundError:
        present = set()
    wanted = []
    for output in outputs:
        relative = os.path.relpath(os.path.normpath(os.path.join(workdir, output)), clone)
        line = "/" + relative.replace(os.sep, "/")
        if not relative.startswith("..") and line not in present and line not in wanted:
            wanted.append(line)
    if wanted:
        os.makedirs(info, exist_ok=True)
        with open(exclude, "a", encoding="utf-8") as handle:
            handle.write("# generated by vhvcorp.devtools.go_generate\n")
            handle.write("".join(line + "\n" for line in wanted))


def _include_hint(step: dict, workdir: str) -> str:
    """protoc only warns about an include directory that is not there; say which."""
    if step["tool"] != "protoc":
        return ""
    absent = [
        i
        for i in step["include"]
        if not os.path.isdir(os.path.join(workdir, os.path.expanduser(i)))
    ]
    if not absent:
        return ""
    return (
        f"\nThese include directories do not exist: {', '.join(absent)} (googleapis' "
        "google/api protos: `ansible-playbook setup.yml --tags go` unpacks them into "
        "~/.local/share/vhvcorp-devtools/protos)."
    )


def _failed(result, step, planned, workdir, message, output=""):
    result.update(status="failed", error=message)
    result["steps"].append(_step_result(step, planned, workdir, "failed", output))
    return result


def generate_all(services: list[dict], state_dir: str, env: dict, check_mode=False, workers=None):
    """One result per service ({name, chdir, steps}), in order; services run in parallel,
    the steps of one service one after another."""
    workers = workers or min(len(services) or 1, os.cpu_count() or 1)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(generate_one, service, state_dir, env, check_mode) for service in services
        ]
        return [future.result() for future in futures]


def tools_path(path: str, tools_dir: str | None) -> str:
    """PATH with the generators' directory first (when given and not there yet)."""
    parts = [p for p in (path or "").split(os.pathsep) if p]
    if tools_dir and tools_dir not in parts:
        parts.insert(0, tools_dir)
    return os.pathsep.join(parts)
