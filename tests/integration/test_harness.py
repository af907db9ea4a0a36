"""The harness is idempotent: run again with everything up, it reuses every component."""

import subprocess
import sys

SUMMARIES = ("local images of ", "all components")


def test_second_run_reuses_every_component(repo_root, harness_state):
    result = subprocess.run(
        [sys.executable, "tests/harness/up.py"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line[len("harness: ") :] for line in result.stdout.splitlines()]
    components = [line for line in lines if not line.startswith(SUMMARIES)]

    built_here = [line for line in components if " missing " not in line]
    # engine, protoc, eight bookworm images (jaeger and go among them), the base and python
    # images of trixie and of bullseye, FerretDB, the Kubernetes binaries, kubectl, helm and
    # the control plane with its kwok nodes; where the real node was brought up (make
    # harness-node), its CNI plugins, pause image and node too
    assert len(built_here) == 19 + (3 if "node" in harness_state else 0), components
    for line in built_here:
        assert " reused " in line, f"not reused on a second run: {line}"
    # Components with no local image are said to be missing, not passed over in silence.
    missing = {line.split()[1] for line in components if " missing " in line}
    assert missing == {"grafana"}
