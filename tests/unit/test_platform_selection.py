"""Per-OS choices of the prerequisites, go_toolchain and kube_tools roles, proven on this
Debian machine.

macOS, Fedora and WSL2 cannot run here, so each test runs the real role in check mode on
localhost with `ansible_facts` replaced by the platform's (an extra var wins over gathered
facts, and the play gathers none), and reads what was chosen from the json callback.
Nothing is installed: check mode, or a failure before the install.
"""

import json
import os
import shutil
import socket
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GB = 1024**3


def facts(os_family: str, **overrides) -> dict:
    """A platform's facts, as much of them as the roles read."""
    platform = {
        "Debian": {"distribution": "Debian", "distribution_version": "12", "pkg_mgr": "apt"},
        "RedHat": {"distribution": "Fedora", "distribution_version": "41", "pkg_mgr": "dnf"},
        "Darwin": {"distribution": "MacOSX", "distribution_version": "15.1", "pkg_mgr": "homebrew"},
        "Archlinux": {"distribution": "Archlinux", "distribution_version": "", "pkg_mgr": "pacman"},
        "Windows": {"distribution": "Microsoft Windows 11", "distribution_version": "10.0"},
    }[os_family]
    base = {
        "os_family": os_family,
        "system": {"Darwin": "Darwin", "Windows": "Win32NT"}.get(os_family, "Linux"),
        "architecture": "x86_64",
        "processor_vcpus": 8,
        "memtotal_mb": 16000,
        "mounts": [
            {"mount": "/", "size_available": 100 * GB},
            {"mount": "/home", "size_available": 50 * GB},
        ],
        "user_uid": 0 if os_family != "Darwin" else 501,
        "user_id": "root" if os_family != "Darwin" else "dev",
        "env": {"HOME": "/home/dev", "PATH": "/usr/local/bin:/usr/bin:/bin"},
        **platform,
    }
    base.update(overrides)
    return base


def run_role(
    ansible,
    tmp_path: Path,
    role: str,
    platform_facts: dict,
    role_dir: Path | None = None,
    **role_vars,
) -> dict:
    """Run the role (or the copy of it in role_dir) in check mode with these facts; return
    the json callback's tasks."""
    if role == "kube_tools":
        # Never the tools of the machine running the tests (see tools_on_path).
        role_vars.setdefault("kube_tools_search_path", tools_on_path(tmp_path))
    play = [
        {
            "name": "Run the role with a platform's facts.",
            "hosts": "localhost",
            "gather_facts": False,
            "roles": [{"role": str(role_dir) if role_dir else f"vhvcorp.devtools.{role}"}],
        }
    ]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    (tmp_path / "vars.json").write_text(json.dumps({"ansible_facts": platform_facts, **role_vars}))
    proc = ansible(
        "ansible-playbook",
        *("--check", "-i", REPO / "inventories/local/hosts.yml"),
        *("-e", f"@{tmp_path / 'vars.json'}", tmp_path / "play.yml"),
        env={"ANSIBLE_STDOUT_CALLBACK": "json", "PATH": f"{BIN}:{os.environ['PATH']}"},
        timeout=300,
    )
    assert proc.stdout.strip(), proc.stderr
    report = json.loads(proc.stdout)
    tasks = {}
    for task in report["plays"][0]["tasks"]:
        result = task["hosts"]["localhost"]
        # A copy of the role (named by its path) is named as the collection's role is.
        name = task["task"]["name"]
        if role_dir:
            name = name.replace(str(role_dir), f"vhvcorp.devtools.{role}", 1)
        tasks.setdefault(name, []).append(result)
    return {"tasks": tasks, "rc": proc.returncode, "stats": report["stats"]["localhost"]}


def with_distribution_files(tmp_path: Path, role: str, files: dict) -> Path:
    """A copy of the role with these files added (path under the role -> text): files of
    its own for one distribution, next to those of the distribution's family."""
    copy = tmp_path / "roles" / role
    shutil.copytree(REPO / "roles" / role, copy)
    for name, text in files.items():
        (copy / name).write_text(text)
    return copy


UBUNTU = {"distribution": "Ubuntu", "distribution_version": "24.04"}


def ran(run: dict, name: str) -> dict:
    """The result of the task with this name, which must have run (not been skipped)."""
    assert name in run["tasks"], f"{name!r} not among {sorted(run['tasks'])}"
    result = run["tasks"][name][-1]
    assert not result.get("skipped"), f"{name!r} was skipped: {result}"
    return result


def skipped_or_absent(run: dict, name: str) -> bool:
    return all(r.get("skipped") for r in run["tasks"].get(name, []))


def failure(run: dict) -> str:
    assert run["rc"] != 0 and run["stats"]["failures"] == 1, run["stats"]
    (message,) = [r["msg"] for rs in run["tasks"].values() for r in rs if r.get("failed")]
    return message


PRE = "vhvcorp.devtools.prerequisites : "
WORKFLOW_TOOLS = {
    "git",
    "make",
    "jq",
    "unzip",
    "tar",
    "gzip",
    "ca-certificates",
    "openssl",
    "rsync",
}

# protoc and the well-known .proto files, for the services' code generation (go_generate).
PROTOC = {"Debian": {"protobuf-compiler", "libprotobuf-dev"}, "Darwin": {"protobuf"}}

DPKG_PROBE = PRE + "Ask dpkg which of the packages are installed already (apt is slow to say so)."


def test_debian_installs_the_missing_packages_with_apt(ansible, tmp_path):
    # dpkg is asked about every default package (whichever of them this machine has).
    run = run_role(ansible, tmp_path, "prerequisites", facts("Debian"))
    assert run["rc"] == 0 and run["stats"]["failures"] == 0
    assert ran(run, PRE + "Install the packages.")["include"] == "setup-Debian.yml"
    assert WORKFLOW_TOOLS | {"curl"} | PROTOC["Debian"] <= set(ran(run, DPKG_PROBE)["cmd"][4:])
    # Packages every Debian system has (Essential: yes): dpkg says so, and apt is not run.
    run = run_role(
        ansible,
        tmp_path,
        "prerequisites",
        facts("Debian"),
        prerequisites_packages=["dpkg", "coreutils"],
    )
    assert ran(run, DPKG_PROBE)["cmd"][4:] == ["dpkg", "coreutils"]
    assert run["tasks"][PRE + "Install the packages with apt."][-1].get("skipped")
    # cowsay is a Debian package this machine does not have: apt gets the whole list.
    run = run_role(
        ansible, tmp_path, "prerequisites", facts("Debian"), prerequisites_extra_packages=["cowsay"]
    )
    apt = ran(run, PRE + "Install the packages with apt.")
    args = apt["invocation"]["module_args"]
    assert WORKFLOW_TOOLS | {"curl", "cowsay"} <= set(args["name"])
    assert args["cache_valid_time"] == 86400
    assert not any(name.endswith(("with dnf.", "with Homebrew.")) for name in run["tasks"])


def test_wsl2_ubuntu_is_treated_as_debian(ansible, tmp_path):
    wsl2 = facts(
        "Debian",
        distribution="Ubuntu",
        distribution_version="24.04",
        kernel="5.15.167.4-microsoft-standard-WSL2",
    )
    run = run_role(ansible, tmp_path, "prerequisites", wsl2)
    assert run["rc"] == 0
    assert ran(run, PRE + "Install the packages.")["include"] == "setup-Debian.yml"
    ran(run, DPKG_PROBE)


def test_redhat_installs_the_packages_with_dnf(ansible, tmp_path):
    run = run_role(ansible, tmp_path, "prerequisites", facts("RedHat"))
    assert ran(run, PRE + "Install the packages.")["include"] == "setup-RedHat.yml"
    dnf = ran(run, PRE + "Install the packages with dnf.")
    assert set(dnf["invocation"]["module_args"]["name"]) >= WORKFLOW_TOOLS
    # This Debian machine has no dnf: the module was chosen and stopped there.
    assert "dnf" in failure(run)
    assert not any(name.endswith(("with apt.", "with Homebrew.")) for name in run["tasks"])


def test_macos_without_homebrew_says_how_to_get_it(ansible, tmp_path):
    run = run_role(ansible, tmp_path, "prerequisites", facts("Darwin"))
    assert ran(run, PRE + "Install the packages.")["include"] == "setup-Darwin.yml"
    assert failure(run) == (
        "Homebrew is not installed on localhost: install it as https://brew.sh shows, then rerun."
    )


def test_macos_installs_with_homebrew_never_as_root(ansible, tmp_path):
    # brew is looked for at the listed places; /usr/bin/env exists here, so the role
    # gets as far as the Homebrew task, whose module then finds no brew in /usr/bin.
    run = run_role(
        ansible,
        tmp_path,
        "prerequisites",
        facts("Darwin"),
        prerequisites_homebrew_candidates=["/usr/bin/env"],
    )
    brew = ran(run, PRE + "Install the packages with Homebrew.")
    assert brew["action"] == "community.general.homebrew"
    assert set(brew["invocation"]["module_args"]["name"]) == {"git", "jq"} | PROTOC["Darwin"]
    assert brew["invocation"]["module_args"]["path"] == "/usr/bin"
    assert "brew" in failure(run)

    as_root = run_role(
        ansible, tmp_path, "prerequisites", facts("Darwin", user_uid=0, user_id="root")
    )
    assert failure(as_root).startswith("Homebrew refuses to run as root")
    assert skipped_or_absent(as_root, PRE + "Install the packages with Homebrew.")


@pytest.mark.parametrize("family", ["Archlinux", "Windows"])
def test_an_unsupported_os_fails_at_once_with_what_to_do(ansible, tmp_path, family):
    run = run_role(ansible, tmp_path, "prerequisites", facts(family))
    message = failure(run)
    assert message.startswith(
        "The prerequisites role supports Debian, Ubuntu, Fedora, RHEL-like systems and macOS"
    )
    assert f"({family} family)" in message and "--skip-tags deps" in message
    assert (
        PRE + "Measure the machine against the recommended and minimum figures." not in run["tasks"]
    )


def test_prerequisites_distribution_files_win_over_the_family_files(ansible, tmp_path):
    role = with_distribution_files(
        tmp_path,
        "prerequisites",
        {
            "vars/Ubuntu.yml": "prerequisites_packages: [ubuntu-only-tool]\n",
            "tasks/setup-Ubuntu.yml": (
                "- name: Install the packages the Ubuntu way.\n"
                "  ansible.builtin.debug:\n"
                '    msg: "{{ prerequisites_packages }}"\n'
            ),
        },
    )
    ubuntu = run_role(ansible, tmp_path, "prerequisites", facts("Debian", **UBUNTU), role_dir=role)
    assert ubuntu["rc"] == 0, ubuntu["stats"]
    assert ran(ubuntu, PRE + "Install the packages.")["include"] == "setup-Ubuntu.yml"
    assert ran(ubuntu, PRE + "Install the packages the Ubuntu way.")["msg"] == ["ubuntu-only-tool"]
    assert DPKG_PROBE not in ubuntu["tasks"]
    # Debian, of the same family, still gets the family's files.
    debian = run_role(ansible, tmp_path, "prerequisites", facts("Debian"), role_dir=role)
    assert ran(debian, PRE + "Install the packages.")["include"] == "setup-Debian.yml"
    assert "ubuntu-only-tool" not in ran(debian, DPKG_PROBE)["cmd"]


GT = "vhvcorp.devtools.go_toolchain : "


def test_go_toolchain_distribution_files_win_over_the_family_files(ansible, tmp_path):
    role = with_distribution_files(
        tmp_path,
        "go_toolchain",
        {
            "vars/Ubuntu.yml": "go_toolchain_packages: [golang-ubuntu]\n",
            "tasks/setup-Ubuntu.yml": (
                "- name: Install Go the Ubuntu way.\n"
                "  ansible.builtin.debug:\n"
                '    msg: "{{ go_toolchain_packages }}"\n'
            ),
        },
    )
    # The package method, and any go on this machine ignored: the setup file runs.
    options = {
        "go_toolchain_method": "package",
        "go_toolchain_accept_existing": False,
        "go_toolchain_manage_profile": False,
    }
    ubuntu = run_role(
        ansible, tmp_path, "go_toolchain", facts("Debian", **UBUNTU), role_dir=role, **options
    )
    assert ubuntu["rc"] == 0, ubuntu["stats"]
    setup = GT + "Install Go from the distribution's packages."
    assert ran(ubuntu, setup)["include"] == "setup-Ubuntu.yml"
    assert ran(ubuntu, GT + "Install Go the Ubuntu way.")["msg"] == ["golang-ubuntu"]
    debian = run_role(ansible, tmp_path, "go_toolchain", facts("Debian"), role_dir=role, **options)
    assert ran(debian, setup)["include"] == "setup-Debian.yml"
    apt = ran(debian, GT + "Install the distribution's Go package.")
    assert apt["invocation"]["module_args"]["name"] == ["golang-go"]


def test_go_toolchain_on_an_unsupported_os_fails_with_what_to_do(ansible, tmp_path):
    message = failure(run_role(ansible, tmp_path, "go_toolchain", facts("Archlinux")))
    assert message.startswith(
        "The go_toolchain role supports Debian, Ubuntu, Fedora, RHEL-like systems and macOS;"
        " this host is Archlinux"
    )
    assert "--skip-tags go" in message


def warnings(run: dict, name: str) -> list:
    """What the task with this name warned, as the json callback keeps it."""
    return [w for r in run["tasks"].get(name, []) for w in r.get("warnings", [])]


def resource_messages(run: dict) -> tuple[list, list]:
    warned = warnings(run, PRE + "Warn when the machine is below the recommended figures.")
    failed = [r["msg"] for rs in run["tasks"].values() for r in rs if r.get("failed")]
    return warned, failed


def test_one_cpu_fails_with_the_figure_the_minimum_and_the_override(ansible, tmp_path):
    run = run_role(ansible, tmp_path, "prerequisites", facts("Debian", processor_vcpus=1))
    message = failure(run)
    assert "1 CPUs (minimum 2, set by prerequisites_minimum_cpus; 4 recommended)" in message
    assert "prerequisites_enforce_minimum: false" in message
    assert skipped_or_absent(run, PRE + "Install the packages with apt.")


def test_one_cpu_with_the_minimum_not_enforced_warns_and_carries_on(ansible, tmp_path):
    run = run_role(
        ansible,
        tmp_path,
        "prerequisites",
        facts("Debian", processor_vcpus=1),
        prerequisites_enforce_minimum=False,
    )
    warned, failed = resource_messages(run)
    assert not failed and run["rc"] == 0
    assert len(warned) == 1 and "1 CPUs" in warned[0]
    ran(run, DPKG_PROBE)


def test_two_cpus_warn_and_carry_on(ansible, tmp_path):
    run = run_role(ansible, tmp_path, "prerequisites", facts("Debian", processor_vcpus=2))
    warned, failed = resource_messages(run)
    assert not failed and run["rc"] == 0
    assert len(warned) == 1 and warned[0].startswith("This machine has 2 CPUs (minimum 2")
    ran(run, DPKG_PROBE)


def test_eight_cpus_and_plenty_of_everything_say_nothing(ansible, tmp_path):
    run = run_role(ansible, tmp_path, "prerequisites", facts("Debian", processor_vcpus=8))
    assert resource_messages(run) == ([], [])
    figures = ran(run, PRE + "Measure the machine against the recommended and minimum figures.")
    assert [f["status"] for f in figures["ansible_facts"]["prerequisites_figures"]] == ["ok"] * 3


def test_memory_below_the_recommended_figure_warns(ansible, tmp_path):
    run = run_role(ansible, tmp_path, "prerequisites", facts("Debian", memtotal_mb=3900))
    warned, failed = resource_messages(run)
    assert not failed and "3900 MB of memory" in warned[0]


def test_free_disk_is_read_on_the_longest_mount_prefix_of_the_workspace(ansible, tmp_path):
    mounts = [
        {"mount": "/", "size_available": 100 * GB},
        {"mount": "/srv", "size_available": 15 * GB},
        {"mount": "/srv/data", "size_available": 5 * GB},
        {"mount": "/srv/database", "size_available": 500 * GB},
    ]
    low = run_role(
        ansible,
        tmp_path,
        "prerequisites",
        facts("Debian", mounts=mounts),
        prerequisites_workspace_dir="/srv/data/dev/workspace",
    )
    message = failure(low)
    assert "5.0 GB free on /srv/data, which holds /srv/data/dev/workspace" in message
    assert "prerequisites_minimum_disk_gb" in message

    # /srv/database is not a prefix of /srv/datab; /srv is.
    warned = run_role(
        ansible,
        tmp_path,
        "prerequisites",
        facts("Debian", mounts=mounts),
        prerequisites_workspace_dir="/srv/datab/",
    )
    assert resource_messages(warned)[0] == [
        "This machine has 15.0 GB free on /srv, which holds /srv/datab/ (minimum 10 GB,"
        " set by prerequisites_minimum_disk_gb; 20 GB recommended). The stack runs, but slowly"
        " and not all of it at once: start only the services you work on."
    ]


KT = "vhvcorp.devtools.kube_tools : "
SAY_MISSING = "Say which tools could not be installed, and why."


def tools_on_path(tmp_path: Path, **versions: str) -> str:
    """A search path holding only these tools, each answering its version probe.

    kube_tools probes kubectl, helm and go on kube_tools_search_path; pointed at this
    directory, the role sees these versions and nothing that is installed on the machine
    running the tests (setup.yml installs helm into /usr/local/bin, a bare machine has
    none), so the tests pass the same on both.
    """
    bin_dir = tmp_path / "tools-bin"
    bin_dir.mkdir(exist_ok=True)
    for tool, version in versions.items():
        # What each tool's version command prints (kubectl version --client, helm version
        # --short, go env GOVERSION): the role reads the first vN.N[.N] of it.
        answer = f"go{version}" if tool == "go" else f"Client Version: v{version}"
        script = bin_dir / tool
        script.write_text(f"#!/bin/sh\necho '{answer}'\n")
        script.chmod(0o755)
    return str(bin_dir)


def report(run: dict) -> dict:
    """kube_tools_report, by tool."""
    (result,) = [
        r for r in run["tasks"][KT + "Record what became of the tool."] if r.get("ansible_facts")
    ][-1:]
    return {entry["tool"]: entry for entry in result["ansible_facts"]["kube_tools_report"]}


def test_kube_tools_on_macos_uses_homebrew_formulas_without_become(ansible, tmp_path):
    # An installed kubectl below the minimum is upgraded (state latest), as an old Homebrew
    # kubectl would be; the missing helm is installed (state present). There is no brew
    # here, so each Homebrew task fails and the role reports the tool as not installed
    # instead of failing the play.
    run = run_role(
        ansible,
        tmp_path,
        "kube_tools",
        facts("Darwin"),
        kube_tools_min_versions={"kubectl": "99.0", "helm": "3.0"},
        kube_tools_search_path=tools_on_path(tmp_path, kubectl="1.32.4"),
    )
    assert run["rc"] == 0, run["stats"]
    brews = run["tasks"][KT + "Install the tool with Homebrew."]
    args = [b["invocation"]["module_args"] for b in brews]
    assert [(a["name"], a["state"]) for a in args] == [
        (["kubernetes-cli"], "latest"),
        (["helm"], "present"),
    ]
    assert all(b["action"] == "community.general.homebrew" for b in brews)
    tools = report(run)
    assert {t["method"] for t in tools.values()} == {"homebrew"}
    assert tools["helm"]["status"] == "not installed"
    assert (
        'the homebrew method failed at "Install the tool with Homebrew."' in tools["helm"]["reason"]
    )
    assert "brew" in tools["helm"]["reason"]
    # One task warns about every tool that is missing, each with its reason.
    assert warnings(run, KT + SAY_MISSING) == [
        f"{name} was not installed: {tool['reason']}"
        for name, tool in tools.items()
        if tool["status"] == "not installed"
    ]


def test_kube_tools_default_on_debian_leaves_kubectl_and_would_build_helm_with_go(
    ansible, tmp_path
):
    search_path = tools_on_path(tmp_path, kubectl="1.37.2", go="1.26.8")
    run = run_role(
        ansible, tmp_path, "kube_tools", facts("Debian"), kube_tools_search_path=search_path
    )
    assert run["rc"] == 0 and run["stats"]["changed"] == 0, run["stats"]
    tools = report(run)
    # A kubectl above the minimum is left alone.
    assert tools["kubectl"]["status"] == "present"
    assert tools["kubectl"]["version"] == "1.37.2"
    assert tools["helm"] == {
        "tool": "helm",
        "method": "go",
        "status": "would install",
        "version": "",
        "reason": "",
    }
    assert ran(run, KT + SAY_MISSING)["msg"] == [] and not warnings(run, KT + SAY_MISSING)
    build = ran_or_skipped(run, KT + "Build the tool with go install.")
    assert build["skipped"] and "check mode" in build["msg"]
    assert not any("with Homebrew" in name or "release binary" in name for name in run["tasks"])


def test_kube_tools_default_replaces_debians_kubectl_with_one_built_from_its_module(
    ansible, tmp_path
):
    # Debian's kubectl 1.20 is below the default minimum (kubectl's skew policy): the go
    # method builds kubectl from the role's main package over k8s.io/kubectl, at the
    # version asked for; the module's version is Kubernetes' with 0 for its major.
    search_path = tools_on_path(tmp_path, kubectl="1.20.15", go="1.26.8")
    run = run_role(
        ansible,
        tmp_path,
        "kube_tools",
        facts("Debian"),
        kube_tools_tools=["kubectl"],
        kube_tools_search_path=search_path,
    )
    assert run["rc"] == 0, run["stats"]
    assert report(run)["kubectl"] == {
        "tool": "kubectl",
        "method": "go",
        "status": "would install",
        "version": "",
        "reason": "",
    }
    source = ran(run, KT + "Copy the tool's main package.")
    assert source["changed"]
    assert source["invocation"]["module_args"]["dest"].endswith("/kube-tools/kubectl-1.37.2-src/")
    gomod = ran(run, KT + "Write the go.mod of the tool's version.")
    assert gomod["changed"]
    build = ran_or_skipped(
        run, KT + "Build the tool from its main package (about 2 minutes the first time)."
    )
    assert build["skipped"]
    assert skipped_or_absent(run, KT + "Build the tool with go install.")


def ran_or_skipped(run: dict, name: str) -> dict:
    assert name in run["tasks"], f"{name!r} not among {sorted(run['tasks'])}"
    return run["tasks"][name][-1]


def test_kube_tools_reports_a_tool_the_distribution_does_not_package(ansible, tmp_path):
    run = run_role(
        ansible,
        tmp_path,
        "kube_tools",
        facts("Debian"),
        kube_tools_tools=["kind"],
        kube_tools_kind_method="package",
    )
    assert run["rc"] == 0
    assert report(run)["kind"]["reason"] == (
        "kind is not packaged for Debian; set kube_tools_kind_method to go or binary"
    )
    assert warnings(run, KT + SAY_MISSING) == [
        "kind was not installed: kind is not packaged for Debian; set kube_tools_kind_method"
        " to go or binary"
    ]
    assert skipped_or_absent(run, KT + "Install the tool's package.")

    required = run_role(
        ansible,
        tmp_path,
        "kube_tools",
        facts("Debian"),
        kube_tools_tools=["kind"],
        kube_tools_kind_method="package",
        kube_tools_required=True,
    )
    assert failure(required) == (
        "kind could not be installed (see the warnings above); fix that, or set"
        " kube_tools_required: false to carry on without it."
    )


def test_kube_tools_go_method_without_go_says_to_install_go(ansible, tmp_path):
    run = run_role(
        ansible,
        tmp_path,
        "kube_tools",
        facts("Debian"),
        kube_tools_tools=["helm"],
        kube_tools_go="/nonexistent/go",
    )
    assert run["rc"] == 0
    reason = report(run)["helm"]["reason"]
    assert "`/nonexistent/go` was not found" in reason and "install Go first" in reason


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: a connection to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_kube_tools_binary_method_reports_an_unreachable_release_host(ansible, tmp_path):
    # get_url fetches the published sha256 even in check mode. The tests contact nothing
    # but this machine, so the release host is a closed port on 127.0.0.1.
    catalog = yaml.safe_load((REPO / "roles/kube_tools/vars/main.yml").read_text())
    release = f"http://127.0.0.1:{closed_port()}/release/kubectl"
    catalog["kube_tools_catalog"]["kubectl"].update(url=release, checksum_url=release + ".sha256")
    run = run_role(
        ansible,
        tmp_path,
        "kube_tools",
        facts("Debian"),
        kube_tools_tools=["kubectl"],
        kube_tools_kubectl_method="binary",
        kube_tools_catalog=catalog["kube_tools_catalog"],
    )
    assert run["rc"] == 0 and run["stats"]["rescued"] == 1
    reason = report(run)["kubectl"]["reason"]
    assert reason.startswith("the binary method failed at \"Download the tool's release binary")
    assert "Connection refused" in reason and reason.endswith(f"({release}.sha256)")


def test_kube_tools_refuses_go_for_minikube_before_doing_anything(ansible, tmp_path):
    # kubectl, helm and kind build with Go; minikube has no go method.
    run = run_role(
        ansible,
        tmp_path,
        "kube_tools",
        facts("Debian"),
        kube_tools_tools=["minikube"],
        kube_tools_minikube_method="go",
    )
    message = failure(run)
    assert "kube_tools_minikube_method" in message and "package, binary" in message


def test_kube_tools_on_windows_fails_with_what_to_do(ansible, tmp_path):
    run = run_role(ansible, tmp_path, "kube_tools", facts("Windows"))
    assert failure(run) == (
        "The kube_tools role supports Linux and macOS, and this host runs Win32NT: install"
        " kubectl and helm yourself, then rerun with `--skip-tags kube`."
    )


def test_kube_tools_distribution_files_win_over_the_family_files(ansible, tmp_path):
    role = with_distribution_files(
        tmp_path,
        "kube_tools",
        {"vars/Ubuntu.yml": "kube_tools_packages: {kubectl: kubectl-ubuntu}\n"},
    )
    options = {
        "kube_tools_tools": ["kubectl"],
        "kube_tools_kubectl_method": "package",
        "kube_tools_search_path": tools_on_path(tmp_path),
    }
    install = KT + "Install the tool's package."
    ubuntu = run_role(
        ansible, tmp_path, "kube_tools", facts("Debian", **UBUNTU), role_dir=role, **options
    )
    assert ran_or_skipped(ubuntu, install)["invocation"]["module_args"]["name"] == "kubectl-ubuntu"
    debian = run_role(ansible, tmp_path, "kube_tools", facts("Debian"), role_dir=role, **options)
    assert (
        ran_or_skipped(debian, install)["invocation"]["module_args"]["name"] == "kubernetes-client"
    )
    # A Linux with no files of its own (nor of its family) gets the system's: no packages.
    arch = run_role(ansible, tmp_path, "kube_tools", facts("Archlinux"), role_dir=role, **options)
    assert arch["rc"] == 0
    assert report(arch)["kubectl"]["reason"].startswith("kubectl is not packaged for Archlinux")
