"""Bare git repositories of the stand-in services, one per service of the catalog, and of
the demo library they share.

Each `<root>/<name>.git` holds, on `main`, the Go stand-in of roles/stack/files/demo-service
(go.mod, go.sum, cmd/, internal/, Dockerfile) and a README naming the service, as a real
service repository would, laid out as the catalog says for the repository (or service) of
that name: the module in its build.module_dir (auth's `server/`), the main package at its
build.package (`./cmd`, tenant's `./cmd/tenant`). `<root>/demo-shared.git` holds
roles/stack/files/demo-shared, the library their go.mod requires through a replace written
for another layout (DEMO_LIBRARY: pass it as devtools_libraries). Plain functions over the
real git CLI (reusing tests/git_fixtures.py), no pytest, so that integration tests, the
end-to-end test and a playbook run can all use it:

    repos = make_service_repositories(tmp_path / "remotes", ["go-auth-service", "go-user-service"])
    # {"go-auth-service": Path(".../go-auth-service.git"), ...}
    make_library_repository(tmp_path / "remotes")   # .../demo-shared.git

    python tests/standin_fixtures.py /tmp/remotes [--service go-auth-service ...]
    # prints file:///tmp/remotes, the base URL of the repositories: pass it as
    # -e repositories_base_url=file:///tmp/remotes (<base>/<name>.git is cloned)

Running it again over the same root changes nothing when the stand-in's source has not
changed; when it has, the new source is pushed as a new commit on top (a fast-forward, as a
colleague's push), so existing clones can pull it.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE_DIR = HERE.parent / "roles" / "stack" / "files" / "demo-service"
LIBRARY_DIR = HERE.parent / "roles" / "stack" / "files" / "demo-shared"
SERVICES_FILE = HERE.parent / "group_vars" / "all" / "services.yml"
BRANCH = "main"
# The demo library as a devtools_libraries entry (its module is what demo-service requires).
DEMO_LIBRARY = {
    "name": "demo-shared",
    "repository": "demo-shared",
    "module": "github.com/vhvcorp/demo-shared",
}
# Where the stand-in's main package is in its source tree.
SOURCE_MAIN = "cmd/main.go"


def _load_git_fixtures():
    """tests/git_fixtures.py, loaded by path (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("_git_fixtures", HERE / "git_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gf = _load_git_fixtures()


def _tree_files(directory: Path, names: tuple[str, ...]) -> dict[str, str]:
    """{relative path: text} of the named files and every Go file under directory."""
    files = {name: (directory / name).read_text() for name in names}
    for path in sorted(directory.rglob("*.go")):
        files[path.relative_to(directory).as_posix()] = path.read_text()
    return files


def source_files() -> dict[str, str]:
    """The stand-in's source: {relative path: text} (Go files, go.mod, go.sum, Dockerfile)."""
    return _tree_files(SOURCE_DIR, ("go.mod", "go.sum", "Dockerfile", ".gitignore"))


def library_files() -> dict[str, str]:
    """The demo library's source: {relative path: text}."""
    return _tree_files(LIBRARY_DIR, ("go.mod", "README.md"))


def layout(service: str) -> tuple[str, str]:
    """(module_dir, package) of the catalog's service whose repository or name this is:
    where its repository has the Go module, and its main package in that module; a service
    the catalog does not know gets the stand-in's own layout ('.', './cmd')."""
    for entry in _catalog():
        if service in (entry.get("repository"), entry["name"]):
            build = entry.get("build") or {}
            return str(build.get("module_dir") or "."), str(build.get("package") or ".")
    return ".", "./cmd"


def _placed(files: dict[str, str], module_dir: str, package: str) -> dict[str, str]:
    """The stand-in's files with its main package moved to package and everything under
    module_dir."""
    main = "/".join(p for p in f"{package}/main.go".split("/") if p not in ("", "."))
    placed = {main if path == SOURCE_MAIN else path: text for path, text in files.items()}
    if module_dir in ("", "."):
        return placed
    return {f"{module_dir.strip('/')}/{path}": text for path, text in placed.items()}


def readme(service: str) -> str:
    """The README of one service's repository."""
    return (
        f"# {service}\n\n"
        f"The {service} of the SaaS platform, as a stand-in: the vhvcorp.devtools test\n"
        "fixture that answers /health, /ready and /metrics over HTTP and grpc.health.v1 over\n"
        "gRPC, and connects to MongoDB and Redis, with the settings of the workspace .env.\n\n"
        f"Its Go module is in `{layout(service)[0]}`, its main package `{layout(service)[1]}`.\n\n"
        "Made by tests/standin_fixtures.py from roles/stack/files/demo-service (see its\n"
        "README for every setting).\n"
    )


def service_files(service: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Everything on `main` of one service's repository (extra: paths from its root)."""
    return {
        **_placed(source_files(), *layout(service)),
        "README.md": readme(service),
        **(extra or {}),
    }


def _tree_of(files: dict[str, str]) -> str:
    """The git tree id `files` would have when committed (nothing is committed)."""
    with tempfile.TemporaryDirectory(prefix="standin-tree-") as work:
        gf.git("init", "--quiet", work)
        gf.write_files(work, files)
        gf.git("add", "--all", cwd=work)
        return gf.git("write-tree", cwd=work)


def make_service_repository(
    root: str | Path, service: str, extra_files: dict[str, str] | None = None
) -> Path:
    """Make (or bring up to date) `<root>/<service>.git`; return its path.

    extra_files ({relative path: text}) are added to (or replace) the stand-in's files,
    e.g. to give one service a different Dockerfile.
    """
    return _make_repository(root, service, service_files(service, extra_files))


def make_library_repository(root: str | Path) -> Path:
    """Make (or bring up to date) `<root>/demo-shared.git`, the demo library; its path."""
    return _make_repository(root, DEMO_LIBRARY["repository"], library_files())


def _make_repository(root: str | Path, service: str, files: dict[str, str]) -> Path:
    bare = Path(root, f"{service}.git").resolve()
    if not bare.exists():
        bare.parent.mkdir(parents=True, exist_ok=True)
        gf.git("init", "--quiet", "--bare", "--initial-branch", BRANCH, str(bare))
        with tempfile.TemporaryDirectory(prefix="standin-repo-") as work:
            gf.git("init", "--quiet", "--initial-branch", BRANCH, work)
            gf.commit(work, files, f"{service}: stand-in service")
            gf.git("push", "--quiet", str(bare), f"HEAD:refs/heads/{BRANCH}", cwd=work)
    elif gf.git("rev-parse", f"{BRANCH}^{{tree}}", cwd=bare) != _tree_of(files):
        # The source changed since the repository was made: push it on top, and remove
        # the files the new source no longer has.
        with tempfile.TemporaryDirectory(prefix="standin-repo-") as work:
            gf.git("clone", "--quiet", "--branch", BRANCH, str(bare), work)
            gf.git("rm", "--quiet", "-r", ".", cwd=work)
            gf.commit(work, files, f"{service}: update the stand-in service")
            gf.git("push", "--quiet", "origin", f"HEAD:refs/heads/{BRANCH}", cwd=work)
    # Lets the bare repository be served over "dumb" HTTP by any static file server.
    gf.git("update-server-info", cwd=bare)
    return bare


# The stand-in with a deliberate type error in one file of its own: a repository that
# clones but does not compile, as real heads often do (the degraded path's tests).
BROKEN_FILES = {
    "internal/server/broken.go": (
        "package server\n\n"
        "// A deliberate type error: this repository clones but does not compile.\n"
        'var brokenPort int = "8080"\n'
    )
}


def make_broken_service_repository(root: str | Path, service: str) -> Path:
    """`<root>/<service>.git` holding the stand-in with BROKEN_FILES: `go build` fails with
    a type error in internal/server/broken.go. make_service_repository over the same root
    pushes the fix (the file removed) on top, as a colleague's fix would arrive."""
    return make_service_repository(root, service, BROKEN_FILES)


def make_service_repositories(
    root: str | Path,
    services: list[str],
    extra_files: dict[str, dict[str, str]] | None = None,
) -> dict[str, Path]:
    """`<root>/<name>.git` for each service: {name: bare repository path}."""
    extra_files = extra_files or {}
    unknown = sorted(set(extra_files) - set(services))
    if unknown:
        raise ValueError(f"extra_files names services that are not made: {unknown}")
    return {name: make_service_repository(root, name, extra_files.get(name)) for name in services}


def base_url(root: str | Path) -> str:
    """The base URL of the repositories under root: <base_url>/<name>.git is cloneable."""
    return gf.file_url(root)


def clone_workspace(
    root: str | Path, services: list[str], extra_files: dict[str, dict[str, str]] | None = None
) -> Path:
    """A workspace ``<root>/workspace`` holding clones of these services' stand-in
    repositories (by catalog name or repository) and of the demo library, as setup.yml's
    repositories step leaves them, without running it; the repositories are made (or brought
    up to date) under ``<root>/git``, with extra_files ({service as named in services:
    {path: text}}) added to theirs. Returns the workspace (no .env in it)."""
    root = Path(root)
    workspace = root / "workspace"
    workspace.mkdir(parents=True, exist_ok=True)
    repositories = {entry["name"]: entry["repository"] for entry in _catalog()}
    extra_files = extra_files or {}
    bares = {
        repositories.get(name, name): make_service_repository(
            root / "git", repositories.get(name, name), extra_files.get(name)
        )
        for name in services
    }
    bares[DEMO_LIBRARY["repository"]] = make_library_repository(root / "git")
    for name, bare in bares.items():
        if not (workspace / name).exists():
            gf.git("clone", "--quiet", "--branch", BRANCH, str(bare), str(workspace / name))
    return workspace


# The Go tools of a test run: one small tool instead of the eight defaults, whose builds
# take many minutes on two cores (tests/integration/test_go_install.py and the go_tools
# molecule scenario cover the mechanism).
SMALL_GO_TOOLS = [{"package": "github.com/a8m/envsubst/cmd/envsubst", "version": "v1.4.3"}]


def setup_vars(root: str | Path, services: list[str] | None = None) -> dict:
    """The extra vars of a setup.yml run on this machine with nothing from outside.

    Makes (or brings up to date) the stand-in repositories under ``<root>/git`` and returns
    the vars that point setup.yml at them: the workspace ``<root>/workspace``, the local
    images, no code generation, the small Go tool, kubectl only (helm's `go install` takes
    minutes; the kube_tools molecule scenario builds it) and no questions asked. The
    end-to-end test and benchmarks/setup_rerun.py pass them as `-e '<json>'`.
    """
    root = Path(root)
    make_service_repositories(root / "git", services or catalog_services(field="repository"))
    make_library_repository(root / "git")
    return {
        "workspace": str(root / "workspace"),
        "devtools_git_base_url": base_url(root / "git"),
        "devtools_libraries": [DEMO_LIBRARY],
        "go_tools_list": SMALL_GO_TOOLS,
        "kube_tools_tools": ["kubectl"],
        "devtools_stack_image_source": "local",
        # The catalog's generation (protoc in auth's server/proto, swag for user's docs) is
        # the real repositories'; the stand-ins carry all their code.
        "devtools_stack_generate": False,
        "quick": True,
    }


def _catalog(path: Path = SERVICES_FILE) -> list[dict]:
    """The catalog's services (group_vars/all/services.yml)."""
    import yaml  # PyYAML comes with ansible-core; imported here so the module needs it only here

    return yaml.safe_load(path.read_text())["devtools_services"]


def catalog_services(path: Path = SERVICES_FILE, field: str = "name") -> list[str]:
    """One field (name, repository) of each service of the catalog (group_vars/all/services.yml)."""
    return [service[field] for service in _catalog(path)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="directory to make <name>.git in")
    parser.add_argument(
        "--service",
        action="append",
        dest="services",
        metavar="NAME",
        help="a service to make (repeatable); default: every service of the catalog",
    )
    args = parser.parse_args(argv)
    make_service_repositories(args.root, args.services or catalog_services(field="repository"))
    make_library_repository(args.root)
    print(base_url(args.root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
