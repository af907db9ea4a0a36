"""The harness's Kubernetes control plane: etcd, kube-apiserver, kube-controller-manager and
kube-scheduler built from their Go modules (tests/harness/controlplane), kwok playing the
nodes, all on 127.0.0.1.

No cluster image can be pulled here, so the components are built once (about 10 minutes
cold on an idle 2-core machine, see the README) and cached by version and by the hash of
their sources under <state dir>/bin; a second harness run reuses what answers and starts
what does not, in seconds. The API server takes an admin token (a token file) over its own
self-signed serving certificate (--cert-dir); the kubeconfig written here says both.
"""

import hashlib
import json
import os
import secrets
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml
from common import (
    REPO_ROOT,
    HarnessError,
    ansible_playbook,
    port_in_use,
    process_alive,
    report,
    start_process,
    stop_process,
    wait_for,
)

SOURCES = Path(__file__).resolve().parent / "controlplane"
# Stages of ours (tests/harness/kwok_stages): a pod held out of Ready and a pod that fails
# after it was Ready, each only for pods that carry its annotation
# (kwok.devtools.vhvcorp/hold-not-ready, kwok.devtools.vhvcorp/fail-after-ready).
OWN_STAGES = Path(__file__).resolve().parent / "kwok_stages"
KUBERNETES_VERSION = "v1.37.2"
KWOK_VERSION = "v0.8.0"
# Ports of our own, away from the defaults (2379, 6443, 10257, 10259) a real cluster on
# this machine would use.
PORTS = {
    "etcd": 12379,
    "etcd-peer": 12380,
    "kube-apiserver": 16443,
    "kube-controller-manager": 20257,
    "kube-scheduler": 20259,
    "kwok": 20247,
}
# kwok's own stages (its module's kustomize/stage): nodes become Ready and keep a lease,
# pods become Ready, complete and go away when deleted.
KWOK_STAGES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
)
NODES = ("kwok-node-0", "kwok-node-1")
# The components, in start order: all four are one binary of ours (controlplane/main.go).
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


def _sources_hash(root: Path = SOURCES) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _go(argv: list, what: str, **kwargs) -> None:
    result = subprocess.run(["go", *argv], capture_output=True, text=True, check=False, **kwargs)
    if result.returncode:
        raise HarnessError(
            f"{what} failed (go {' '.join(argv[:2])}...); install Go 1.26 or newer "
            f"(the go_toolchain role does) if it is missing. Its end:\n"
            + "\n".join((result.stdout + result.stderr).splitlines()[-15:])
        )


def ensure_binaries(state: Path) -> tuple:
    """The control plane's binaries and kwok, built when missing: (bin dir, kwok path)."""
    started = time.monotonic()
    bin_dir = state / "bin" / f"kubernetes-{KUBERNETES_VERSION}-{_sources_hash()}"
    kwok = state / "bin" / f"kwok-{KWOK_VERSION}" / "kwok"
    built = []
    if not (bin_dir / "controlplane").is_file():
        # Built next to the final directory and renamed into place, so an interrupted build
        # is never taken for a complete one.
        partial = bin_dir.with_name(bin_dir.name + ".partial")
        partial.mkdir(parents=True, exist_ok=True)
        version = "k8s.io/component-base/version"
        major, minor = KUBERNETES_VERSION[1:].split(".")[:2]
        ldflags = (
            f"-s -w -X {version}.gitVersion={KUBERNETES_VERSION} "
            f"-X {version}.gitMajor={major} -X {version}.gitMinor={minor}"
        )
        _go(
            ["build", "-trimpath", f"-ldflags={ldflags}", "-o", f"{partial}/controlplane", "."],
            "Building the control plane",
            cwd=SOURCES,
            env=_go_env(),
        )
        partial.rename(bin_dir)
        built.append("kubernetes")
    if not kwok.is_file():
        _go(
            ["install", "-trimpath", f"sigs.k8s.io/kwok/cmd/kwok@{KWOK_VERSION}"],
            "Building kwok",
            env=_go_env(GOBIN=str(kwok.parent)),
        )
        built.append("kwok")
    report(
        f"kubernetes {KUBERNETES_VERSION} + kwok {KWOK_VERSION} binaries",
        "built" if built else "reused",
        started,
        str(bin_dir),
    )
    return bin_dir, kwok


def _go_env(**extra) -> dict:
    return {**os.environ, "CGO_ENABLED": "0", **extra}


def _kwok_stage_files() -> list:
    result = subprocess.run(
        ["go", "mod", "download", "-json", f"sigs.k8s.io/kwok@{KWOK_VERSION}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise HarnessError(f"kwok's module cannot be downloaded: {result.stdout}{result.stderr}")
    root = Path(json.loads(result.stdout)["Dir"]) / "kustomize" / "stage"
    return [str(root / stage) for stage in KWOK_STAGES] + [
        str(path) for path in sorted(OWN_STAGES.glob("*.yaml"))
    ]


def _credentials(directory: Path) -> dict:
    """The admin token, the service account key pair and the kubeconfig (made once)."""
    directory.mkdir(parents=True, exist_ok=True)
    token_file = directory / "tokens.csv"
    if not token_file.is_file():
        token_file.write_text(f"{secrets.token_hex(24)},admin,admin,system:masters\n")
        token_file.chmod(0o600)
    token = token_file.read_text().split(",")[0]
    key = directory / "service-account.key"
    if not key.is_file():
        # The key the API server signs service account tokens with; openssl is part of the
        # base system, and the key never leaves this directory.
        subprocess.run(
            ["openssl", "genrsa", "-out", str(key), "2048"], capture_output=True, check=True
        )
        key.chmod(0o600)
    server = f"https://127.0.0.1:{PORTS['kube-apiserver']}"
    kubeconfig = directory / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "harness",
                        # The API server's certificate is self-signed (--cert-dir); the
                        # harness talks to 127.0.0.1 only.
                        "cluster": {"server": server, "insecure-skip-tls-verify": True},
                    }
                ],
                "users": [{"name": "admin", "user": {"token": token}}],
                "contexts": [
                    {"name": "harness", "context": {"cluster": "harness", "user": "admin"}}
                ],
                "current-context": "harness",
            },
            indent=2,
        )
        + "\n"
    )
    kubeconfig.chmod(0o600)
    return {
        "token": token,
        "token_file": token_file,
        "key": key,
        "kubeconfig": kubeconfig,
        "server": server,
    }


def _api(creds: dict, path: str, method: str = "GET", body: dict | None = None):
    """One call to the API server as the admin: (HTTP status, parsed body or text)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # self-signed, on 127.0.0.1
    request = urllib.request.Request(
        creds["server"] + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {creds['token']}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, context=context, timeout=5) as response:
            text = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as exc:
        text, status = exc.read().decode(), exc.code
    except OSError:
        return 0, ""
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def _apiserver_ready(creds: dict) -> bool:
    return _api(creds, "/readyz")[0] == 200


def _argv(name: str, bin_dir: Path, kwok: Path, creds: dict, k8s: Path) -> list:
    """Each component's command line, on 127.0.0.1 only."""
    kubeconfig = str(creds["kubeconfig"])
    binary = [str(bin_dir / "controlplane"), name]
    # What the controller manager and the scheduler share: the admin's kubeconfig for the
    # API and for delegated authentication, 127.0.0.1, one instance (no leader election).
    client = [
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={PORTS[name]}",
        "--leader-elect=false",
        "--profiling=false",
    ]
    if name == "etcd":
        return [
            *binary,
            f"-data-dir={k8s / 'etcd-data'}",
            f"-client-port={PORTS['etcd']}",
            f"-peer-port={PORTS['etcd-peer']}",
        ]
    if name == "kube-apiserver":
        return [
            *binary,
            f"--etcd-servers=http://127.0.0.1:{PORTS['etcd']}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={PORTS['kube-apiserver']}",
            f"--cert-dir={k8s / 'certs'}",
            f"--token-auth-file={creds['token_file']}",
            "--authorization-mode=RBAC",
            # No kube-proxy nor real endpoints here: the API server's own Service
            # endpoints are not reconciled.
            "--endpoint-reconciler-type=none",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={creds['key']}",
            f"--service-account-signing-key-file={creds['key']}",
            "--profiling=false",
        ]
    if name == "kube-controller-manager":
        return [
            *binary,
            *client,
            f"--service-account-private-key-file={creds['key']}",
            "--use-service-account-credentials=false",
        ]
    if name == "kube-scheduler":
        return [*binary, *client]
    return [
        str(kwok),
        f"--kubeconfig={kubeconfig}",
        *(f"--config={stage}" for stage in _kwok_stage_files()),
        "--manage-nodes-with-label-selector=type=kwok",
        f"--server-address=127.0.0.1:{PORTS['kwok']}",
        "--node-lease-duration-seconds=40",
        "--cidr=10.0.0.1/16",
        "--node-ip=127.0.0.1",
    ]


def _node(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "type": "kwok",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
            },
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "status": {
            "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
        },
    }


def _nodes_ready(creds: dict) -> bool:
    status, body = _api(creds, "/api/v1/nodes?labelSelector=type%3Dkwok")
    if status != 200:
        return False
    ready = {
        item["metadata"]["name"]
        for item in body["items"]
        for c in item.get("status", {}).get("conditions", [])
        if c["type"] == "Ready" and c["status"] == "True"
    }
    return ready >= set(NODES)


def _ensure_nodes(creds: dict) -> None:
    for name in NODES:
        status, body = _api(creds, "/api/v1/nodes", "POST", _node(name))
        if status not in (201, 409):
            raise HarnessError(f"The kwok node {name} cannot be made: HTTP {status} {body}")


def _default_service_account(creds: dict) -> bool:
    return _api(creds, "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200


# helm for deploy-dev.yml's Helm charts, at the kube_tools role's default version.
HELM_VERSION = yaml.safe_load(
    (REPO_ROOT / "roles" / "kube_tools" / "defaults" / "main.yml").read_text()
)["kube_tools_versions"]["helm"]


def ensure_kube_tool(state: Path, tool: str, version: str) -> str:
    """kubectl (at the control plane's version) or helm, built by the kube_tools role's go
    method (tests/harness/kubectl.yml) into a directory of its own under the harness's
    cache; a second run finds it and changes nothing."""
    started = time.monotonic()
    bin_dir = state / "bin" / f"{tool}-v{version}"
    bin_dir.mkdir(parents=True, exist_ok=True)  # the role installs into it, as into /usr/local/bin
    result = ansible_playbook(
        "tests/harness/kubectl.yml",
        "-e",
        json.dumps(
            {
                "kube_tools_tools": [tool],
                "kube_tools_bin_dir": str(bin_dir),
                "kube_tools_search_path": f"{bin_dir}:/usr/local/go/bin:{os.environ['PATH']}",
                "kube_tools_versions": {tool: version},
                "kube_tools_min_versions": {tool: version},
            }
        ),
        json_output=True,
    )
    changed = sum(host["changed"] for host in json.loads(result.stdout)["stats"].values())
    report(f"{tool} (kube_tools role, go method)", "built" if changed else "reused", started)
    return str(bin_dir / tool)


def ensure_control_plane(state: Path, previous: dict) -> dict:
    """Start each component that is not running (reusing those that are) and wait until the
    API server is ready, the controllers have made the default service account and the kwok
    nodes are Ready."""
    bin_dir, kwok = ensure_binaries(state)
    kubectl = ensure_kube_tool(state, "kubectl", KUBERNETES_VERSION[1:])
    helm = ensure_kube_tool(state, "helm", HELM_VERSION)
    started = time.monotonic()
    k8s = state / "kubernetes"
    creds = _credentials(k8s)
    info = {
        "version": KUBERNETES_VERSION,
        "server": creds["server"],
        "kubeconfig": str(creds["kubeconfig"]),
        "bin_dir": str(bin_dir),
        "kwok": str(kwok),
        "kubectl": kubectl,
        "helm": helm,
        "nodes": list(NODES),
        "logs": str(k8s / "logs"),
        "kwok_stages": _sources_hash(OWN_STAGES),
    }
    (k8s / "logs").mkdir(parents=True, exist_ok=True)
    same_build = previous.get("bin_dir") == info["bin_dir"]
    order = (*COMPONENTS, "kwok")
    actions = {}
    for name in order:
        same = same_build and (name != "kwok" or previous.get("kwok_stages") == info["kwok_stages"])
        actions[name] = "reused" if same and process_alive(k8s / f"{name}.pid") else "started"
    # Stopped before anything starts, the last first: an API server whose etcd went away
    # first hangs in its shutdown, and etcd's peer port outlives its client port a moment.
    for name in reversed(order):
        if actions[name] == "started":
            stop_process(k8s / f"{name}.pid", PORTS[name], name)
            if name == "etcd":
                wait_for(lambda: not port_in_use(PORTS["etcd-peer"]), 15, "etcd's peer port")
    for name in order:
        if actions[name] == "reused":
            continue
        if name == "kube-apiserver":
            wait_for(lambda: port_in_use(PORTS["etcd"]), 60, "etcd")
        if name in ("kube-controller-manager", "kube-scheduler", "kwok"):
            wait_for(
                lambda: _apiserver_ready(creds),
                120,
                f"kube-apiserver (log: {k8s / 'logs' / 'kube-apiserver.log'})",
            )
        start_process(
            _argv(name, bin_dir, kwok, creds, k8s),
            k8s / f"{name}.pid",
            k8s / "logs" / f"{name}.log",
        )
    wait_for(lambda: _apiserver_ready(creds), 120, "kube-apiserver")
    _ensure_nodes(creds)
    wait_for(lambda: _nodes_ready(creds), 60, f"the kwok nodes (log: {k8s / 'logs/kwok.log'})")
    wait_for(
        lambda: _default_service_account(creds),
        60,
        "the default service account (kube-controller-manager's log: "
        f"{k8s / 'logs/kube-controller-manager.log'})",
    )
    restarted = sorted(name for name, action in actions.items() if action == "started")
    report(
        "kubernetes control plane + kwok (127.0.0.1)",
        "started" if restarted else "reused",
        started,
        f"{creds['server']} {('started: ' + ', '.join(restarted)) if restarted else ''}".strip(),
    )
    return info
