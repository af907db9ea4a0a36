"""The collection's metadata and every role's interface agree with each other."""

import json
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(p for p in (REPO / "roles").iterdir() if p.is_dir())


def load(path: Path):
    return yaml.safe_load(path.read_text())


def test_galaxy_names_the_collection_and_ranges_its_dependencies():
    galaxy = load(REPO / "galaxy.yml")
    assert (galaxy["namespace"], galaxy["name"]) == ("vhvcorp", "devtools")
    assert set(galaxy["dependencies"]) == {
        "community.docker",
        "kubernetes.core",
        "community.general",
        "ansible.posix",
    }
    for name, spec in galaxy["dependencies"].items():
        assert ">=" in spec and "<" in spec.replace("<=", ""), f"{name}: {spec} is not a range"
    for key in ("repository", "license", "tags", "readme", "version"):
        assert galaxy[key], key


def test_requirements_yml_matches_galaxy_dependencies():
    galaxy = load(REPO / "galaxy.yml")["dependencies"]
    wanted = {c["name"]: c["version"] for c in load(REPO / "requirements.yml")["collections"]}
    assert wanted == galaxy


def test_requirements_txt_pins_every_package():
    lines = [
        line.split("#")[0].strip()
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    assert lines
    assert all("==" in line for line in lines), [line for line in lines if "==" not in line]
    names = {line.split("==")[0].split("[")[0] for line in lines}
    assert {"ansible", "docker", "kubernetes", "pymongo", "molecule", "pytest", "ruff"} <= names


def test_checkout_is_importable_as_the_collection():
    link = REPO / ".collections" / "ansible_collections" / "vhvcorp" / "devtools"
    assert link.is_symlink()
    assert link.resolve() == REPO


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_role_defaults_are_exactly_its_documented_options(role: Path):
    spec = load(role / "meta" / "argument_specs.yml")["argument_specs"]["main"]
    options = set(spec.get("options", {}))
    defaults = set(load(role / "defaults" / "main.yml") or {})
    assert defaults == options, (
        f"{role.name}: undocumented defaults {sorted(defaults - options)}, "
        f"options without a default {sorted(options - defaults)}"
    )
    for name, option in spec["options"].items():
        assert name.startswith(role.name + "_"), f"{name} lacks the {role.name}_ prefix"
        assert option.get("description"), f"{name} has no description"


def test_example_inventory_has_a_group_per_platform_with_its_settings(ansible):
    listing = ansible("ansible-inventory", "-i", REPO / "inventories/fleet", "--list")
    assert listing.returncode == 0, listing.stderr
    inventory = json.loads(listing.stdout)
    assert {"macos", "linux", "wsl2", "remote"} <= set(inventory["all"]["children"])
    hostvars = inventory["_meta"]["hostvars"]
    mac = hostvars[inventory["macos"]["hosts"][0]]
    assert mac["docker_macos_runtime"] in {"colima", "desktop"}
    remote = hostvars[inventory["remote"]["hosts"][0]]
    assert remote["devtools_git_protocol"] == "ssh"
    assert remote["devtools_quick"] is True
