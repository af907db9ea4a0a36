"""The fleet's example inventories: the dynamic one sorts its source's machines into
onboarding.yml's groups, with the static fleet's group settings, and onboarding.yml parses
against both."""

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_the_dynamic_inventory_groups_machines_by_their_platform(ansible):
    listing = ansible("ansible-inventory", "-i", REPO / "inventories/dynamic", "--list")
    assert listing.returncode == 0, listing.stderr
    inventory = json.loads(listing.stdout)
    assert inventory["macos"]["hosts"] == ["mac-0042.example.internal"]
    assert inventory["linux"]["hosts"] == ["ubuntu-0107.example.internal"]
    assert inventory["remote"]["hosts"] == ["devbox-eu-3.example.internal"]
    hostvars = inventory["_meta"]["hostvars"]
    # The static fleet's group_vars, through the link.
    assert hostvars["mac-0042.example.internal"]["docker_macos_runtime"] == "colima"
    assert hostvars["devbox-eu-3.example.internal"]["devtools_quick"] is True


@pytest.mark.parametrize("inventory", ["fleet", "dynamic"])
def test_onboarding_parses_against_the_example_inventories(ansible, inventory):
    result = ansible(
        "ansible-playbook", "--syntax-check", "-i", REPO / "inventories" / inventory,
        REPO / "onboarding.yml",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
