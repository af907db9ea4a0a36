"""execution-environment.yml (ansible-builder v3) installs what the collection runs with:
requirements.txt's pins, less the test and lint tools and the `ansible` bundle (the EE's
collections come from requirements.yml)."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
NOT_IN_EE = {
    "ansible",
    "ansible-core",
    "molecule",
    "molecule-plugins",
    "pytest",
    "ansible-lint",
    "ruff",
}


def pins() -> dict:
    lines = (REPO / "requirements.txt").read_text().splitlines()
    pairs = [line.split("#")[0].strip().split("==") for line in lines if "==" in line]
    return {name.split("[")[0]: version for name, version in pairs}


def test_the_ee_installs_the_collections_runtime_pins():
    ee = yaml.safe_load((REPO / "execution-environment.yml").read_text())
    assert ee["version"] == 3
    deps = ee["dependencies"]
    assert deps["galaxy"] == "requirements.yml" and (REPO / deps["galaxy"]).is_file()
    wanted = {name: version for name, version in pins().items() if name not in NOT_IN_EE}
    assert dict(line.split("==") for line in deps["python"]) == wanted
    assert deps["ansible_core"]["package_pip"] == f"ansible-core=={pins()['ansible-core']}"
