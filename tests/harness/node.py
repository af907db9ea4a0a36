"""The harness's optional real node: a kubelet 1.37.2 (the control plane's binary,
tests/harness/controlplane) over a containerd of its own (Debian's, with its CRI plugin)
and the CNI plugins built from their Go module, all on this machine, registered with the
harness's API server as the node `localhost`. Opt-in: `make harness-node` (or
`python tests/harness/node.py` after `make harness`) brings it up and adds a `node` entry to
harness.json; the tests marked `real_node` run only then.

What is ours and where (under <state dir>/node): containerd's config, root, state and
socket (Docker's containerd is not touched), a bridge network `vhvk8s0` on 10.244.0.0/24
(no masquerade, no iptables rule: the pods reach nothing but each other and this host), the
kubelet's root and pod logs, and a sandbox (pause) image built from tests/harness/node/pause
(none can be pulled here). The local images the tests run go in with `docker save | ctr
import`, so pods use them with imagePullPolicy Never.

Two choices the machine forces, each the narrowest we found:
- The kubelet sets kernel tunables (vm.overcommit_memory=1, kernel.panic=10,
  kernel.panic_on_oops=1) unless protectKernelDefaults, which refuses to start when they
  differ. The host's must not change, so containerd and the kubelet run in a mount namespace
  of their own in which those four /proc/sys files are bind-mounted from files holding the
  values the kubelet expects; the host's sysctls are not written. The kubelet's own iptables
  chains are off (makeIPTablesUtilChains: false).
- The kubelet will not report a loopback address as the node's InternalIP, and the API
  server dials a node by its Hostname address first: the node is named `localhost`, so
  logs, exec and port-forward go to 127.0.0.1:20250 (not 10250: the kwok nodes' address,
  which must keep refusing). The kubelet takes the API server's unauthenticated calls
  (anonymous, AlwaysAllow) on 127.0.0.1 only: the API server here has no kubelet client
  certificate. The node carries the taint vhvcorp.devtools/real-node:NoSchedule, so only pods
  that tolerate it (the real-node tests') land on it, never the kwok tests' pods.
"""

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from common import (
    HarnessError,
    process_alive,
    report,
    start_process,
    state_dir,
    stop_process,
    wait_for,
)
from controlplane import _api, _go, _go_env, _sources_hash

NODE_NAME = "localhost"
CNI_VERSION = "v1.10.0"
CNI_PLUGINS = ("main/bridge", "main/loopback", "ipam/host-local")
PAUSE_SOURCES = Path(__file__).resolve().parent / "node" / "pause"
PORTS = {"kubelet": 20250, "kubelet-healthz": 20248, "containerd-stream": 20251}
SUBNET = "10.244.0.0/24"
TAINT = {"key": "vhvcorp.devtools/real-node", "effect": "NoSchedule"}
LABEL = {"vhvcorp.devtools/node": "real"}
# The kubelet's kernel tunables (k8s.io/kubernetes pkg/kubelet/cm setupKernelTunables), as
# its mount namespace shows them; kernel/keys/root_max* are at its values here already.
KERNEL_TUNABLES = {
    "vm/overcommit_memory": "1",
    "vm/panic_on_oom": "0",
    "kernel/panic": "10",
    "kernel/panic_on_oops": "1",
}
# The local images (harness.json's keys) the real-node tests run.
IMAGES = ("ferretdb",)


def ensure_cni_plugins(state: Path) -> Path:
    started = time.monotonic()
    bin_dir = state / "bin" / f"cni-plugins-{CNI_VERSION}"
    missing = [p for p in CNI_PLUGINS if not (bin_dir / p.split("/")[1]).is_file()]
    if missing:
        module = "github.com/containernetworking/plugins/plugins"
        _go(
            ["install", "-trimpath", "-ldflags=-s -w",
             *(f"{module}/{p}@{CNI_VERSION}" for p in missing)],
            "Building the CNI plugins",
            env=_go_env(GOBIN=str(bin_dir)),
        )  # fmt: skip
    report(f"CNI plugins {CNI_VERSION}", "built" if missing else "reused", started, str(bin_dir))
    return bin_dir


def ensure_pause_image() -> str:
    """The sandbox image, built from tests/harness/node/pause into a scratch image tagged
    by the hash of its sources."""
    started = time.monotonic()
    image = f"vhvcorp-local/pause:{_sources_hash(PAUSE_SOURCES)}"
    present = subprocess.run(["docker", "image", "inspect", image], capture_output=True)
    if present.returncode:
        with tempfile.TemporaryDirectory() as context:
            _go(
                ["build", "-trimpath", "-ldflags=-s -w", "-o", f"{context}/pause", "."],
                "Building the pause program",
                cwd=PAUSE_SOURCES,
                env=_go_env(),
            )
            Path(context, "Dockerfile").write_text(
                'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n'
            )
            subprocess.run(
                ["docker", "build", "-q", "-t", image, context], capture_output=True, check=True
            )
    report("pause image", "built" if present.returncode else "reused", started, image)
    return image


def _containerd_config(node: Path, cni_bin: Path, pause: str) -> str:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{node}/containerd/root"
state = "{node}/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "{node}/containerd/containerd.sock"
[ttrpc]
  address = "{node}/containerd/containerd-ttrpc.sock"

[{cri}]
  sandbox_image = "{pause}"
  disable_apparmor = true
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "{PORTS["containerd-stream"]}"
  [{cri}.cni]
    bin_dir = "{cni_bin}"
    conf_dir = "{node}/cni/conf"
  [{cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [{cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [{cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
"""


def _cni_conflist(node: Path) -> dict:
    return {
        "cniVersion": "1.0.0",
        "name": "vhvcorp-harness",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "vhvk8s0",
                "isGateway": True,  # this host reaches the pods (the kubelet's probes)
                "ipMasq": False,  # no iptables rule: the pods reach nothing beyond the host
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": SUBNET}]],
                    "dataDir": str(node / "cni" / "ipam"),
                },
            }
        ],
    }


def _kubelet_config(node: Path) -> dict:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": "127.0.0.1",
        "port": PORTS["kubelet"],
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": PORTS["kubelet-healthz"],
        "containerRuntimeEndpoint": f"unix://{node}/containerd/containerd.sock",
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,  # this machine has cgroup v1
        "failSwapOn": False,
        "makeIPTablesUtilChains": False,
        "protectKernelDefaults": True,  # never write the host's sysctls (see the docstring)
        "authentication": {"anonymous": {"enabled": True}, "webhook": {"enabled": False}},
        "authorization": {"mode": "AlwaysAllow"},
        "podLogsDir": str(node / "kubelet" / "pod-logs"),
        "resolvConf": "",
        # Our imported images are never pulled again: no garbage collection of them, and no
        # eviction on this shared disk.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
            "nodefs.inodesFree": "1%",
        },
        "registerWithTaints": [TAINT],
        "maxPods": 20,
    }


def _write(path: Path, text: str) -> bool:
    """Write text to path; True when that changed it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


def _ctr(node: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ctr", "-a", str(node / "containerd" / "containerd.sock"), "-n", "k8s.io", *args],
        capture_output=True,
        check=True,
        **kwargs,
    )


def _import_images(node: Path, images: list) -> None:
    """docker save | ctr import of each image whose Docker image ID differs from the one
    imported last (images.json)."""
    record = node / "images.json"
    done = json.loads(record.read_text()) if record.is_file() else {}
    for image in images:
        image_id = subprocess.run(
            ["docker", "image", "inspect", "-f", "{{.Id}}", image],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        if done.get(image) == image_id:
            continue
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        _ctr(node, "images", "import", "-", stdin=save.stdout)
        if save.wait():
            raise HarnessError(f"docker save {image} failed")
        done[image] = image_id
        record.write_text(json.dumps(done, indent=2) + "\n")


def _node_ready(creds: dict) -> bool:
    status, body = _api(creds, f"/api/v1/nodes/{NODE_NAME}")
    return status == 200 and any(
        c["type"] == "Ready" and c["status"] == "True" for c in body["status"]["conditions"]
    )


def _start_node(node: Path, kube: dict) -> None:
    """(Re)start containerd, then the kubelet in containerd's mount namespace (where the
    kernel tunables show the kubelet's values)."""
    logs = node / "logs"
    # The kubelet first: it talks to containerd.
    stop_process(node / "kubelet.pid", PORTS["kubelet"], "kubelet")
    stop_process(node / "containerd.pid", PORTS["containerd-stream"], "containerd")
    sock = node / "containerd" / "containerd.sock"
    sock.unlink(missing_ok=True)  # a stale one would pass for containerd's
    binds = " && ".join(
        f"mount --bind {node / 'sysctl' / r.replace('/', '.')} /proc/sys/{r}"
        for r in KERNEL_TUNABLES
    )
    start_process(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         f'{binds} && exec containerd --config "$0"', str(node / "containerd" / "config.toml")],
        node / "containerd.pid",
        logs / "containerd.log",
    )  # fmt: skip
    wait_for(lambda: sock.exists(), 30, f"containerd (log: {logs / 'containerd.log'})")
    containerd_pid = (node / "containerd.pid").read_text().strip()
    start_process(
        ["nsenter", f"--mount=/proc/{containerd_pid}/ns/mnt", "--",
         str(Path(kube["bin_dir"]) / "controlplane"), "kubelet",
         f"--config={node / 'kubelet' / 'config.yaml'}",
         f"--kubeconfig={kube['kubeconfig']}",
         f"--root-dir={node / 'kubelet' / 'root'}",
         f"--hostname-override={NODE_NAME}",
         "--node-labels=" + ",".join(f"{k}={v}" for k, v in LABEL.items())],
        node / "kubelet.pid",
        logs / "kubelet.log",
    )  # fmt: skip


def ensure_node(state: Path, kube: dict, local_images: list, previous: dict) -> dict:
    """Start containerd and the kubelet (reusing them when their binaries and configuration
    are unchanged and they run), import the images, wait until the node is Ready."""
    if not shutil.which("containerd") or not shutil.which("ctr"):
        raise HarnessError("containerd is missing: the docker role installs Debian's docker.io.")
    cni_bin = ensure_cni_plugins(state)
    pause = ensure_pause_image()
    started = time.monotonic()
    node = state / "node"
    logs = node / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for relative, value in KERNEL_TUNABLES.items():
        _write(node / "sysctl" / relative.replace("/", "."), value + "\n")
    (node / "cni" / "conf").mkdir(parents=True, exist_ok=True)
    config = {
        "containerd": _containerd_config(node, cni_bin, pause),
        "cni": json.dumps(_cni_conflist(node), indent=2) + "\n",
        "kubelet": yaml.safe_dump(_kubelet_config(node)),
    }
    _write(node / "containerd" / "config.toml", config["containerd"])
    _write(node / "cni" / "conf" / "10-vhvcorp.conflist", config["cni"])
    _write(node / "kubelet" / "config.yaml", config["kubelet"])
    key = hashlib.sha256(
        json.dumps({"bin_dir": kube["bin_dir"], **config}, sort_keys=True).encode()
    ).hexdigest()[:12]
    same = previous.get("key") == key
    actions = {
        name: "reused" if same and process_alive(node / f"{name}.pid") else "started"
        for name in ("containerd", "kubelet")
    }
    if "started" in actions.values():
        _start_node(node, kube)
    images = [pause, *(i["image"] for i in local_images if i["key"] in IMAGES)]
    _import_images(node, images)
    creds = {"server": kube["server"], "token": _admin_token(kube)}
    wait_for(lambda: _node_ready(creds), 120, f"the node {NODE_NAME} (log: {logs / 'kubelet.log'})")
    restarted = sorted(name for name, action in actions.items() if action == "started")
    report(
        f"real node {NODE_NAME} (kubelet + containerd)",
        "started" if restarted else "reused",
        started,
        f"{', '.join(images[1:])} imported",
    )
    return {
        "key": key,
        "name": NODE_NAME,
        "labels": LABEL,
        "taint": TAINT,
        "images": images[1:],
        "logs": str(logs),
    }


def _admin_token(kube: dict) -> str:
    return yaml.safe_load(Path(kube["kubeconfig"]).read_text())["users"][0]["user"]["token"]


def main() -> int:
    """Bring the node up against the control plane `make harness` brought up."""
    state = state_dir()
    state_file = state / "harness.json"
    if not state_file.is_file():
        print("harness: FAILED: no harness.json: run `make harness` first.", file=sys.stderr)
        return 1
    harness = json.loads(state_file.read_text())
    try:
        harness["node"] = ensure_node(
            state, harness["kubernetes"], harness["images"], harness.get("node", {})
        )
    except (HarnessError, subprocess.CalledProcessError) as exc:
        print(f"harness: FAILED: {exc}", file=sys.stderr)
        return 1
    state_file.write_text(json.dumps(harness, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
