"""The role_platforms lookup: a role's supported platforms, listed once in its
meta/main.yml, in the words of its failure message."""

from pathlib import Path

import pytest
from ansible.errors import AnsibleLookupError
from ansible_collections.vhvcorp.devtools.plugins.lookup.role_platforms import LookupModule

REPO = Path(__file__).resolve().parents[2]


def test_each_per_os_role_names_its_platforms_from_its_meta():
    said = {
        role: LookupModule().run([], variables={"role_path": str(REPO / "roles" / role)})
        for role in ("prerequisites", "go_toolchain", "kube_tools", "docker")
    }
    assert said == {
        "prerequisites": ["Debian, Ubuntu, Fedora, RHEL-like systems and macOS"],
        "go_toolchain": ["Debian, Ubuntu, Fedora, RHEL-like systems and macOS"],
        "kube_tools": ["Linux and macOS"],
        "docker": ["Debian, Ubuntu, Fedora, RHEL-like systems and macOS"],
    }


def role(tmp_path: Path, meta: str) -> dict:
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "main.yml").write_text(meta)
    return {"role_path": str(tmp_path)}


def test_one_platform_is_named_alone(tmp_path):
    variables = role(tmp_path, "galaxy_info:\n  platforms:\n    - name: EL\n")
    assert LookupModule().run([], variables=variables) == ["RHEL-like systems"]


def test_a_role_without_platforms_is_told_where_to_list_them(tmp_path):
    variables = role(tmp_path, "galaxy_info:\n  author: me\n")
    with pytest.raises(AnsibleLookupError, match="lists no galaxy_info.platforms: name the"):
        LookupModule().run([], variables=variables)


def test_outside_a_role_it_says_where_it_works():
    with pytest.raises(AnsibleLookupError, match="use it in a role's tasks or vars"):
        LookupModule().run([], variables={})
