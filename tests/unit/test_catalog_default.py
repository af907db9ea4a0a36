"""The catalog_default lookup: a role run without the playbooks' group_vars gets the
collection's own catalog from it, not from a copy."""

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleLookupError
from ansible_collections.vhvcorp.devtools.plugins.lookup.catalog_default import LookupModule

REPO = Path(__file__).resolve().parents[2]


def group_vars(name: str) -> dict:
    return yaml.safe_load((REPO / "group_vars" / "all" / name).read_text())


def test_it_returns_the_group_vars_values_of_the_services_and_the_stack():
    services, stack = group_vars("services.yml"), group_vars("stack.yml")
    found = LookupModule().run(["devtools_services", "devtools_stack_components"])
    assert found == [services["devtools_services"], stack["devtools_stack_components"]]


def test_an_unknown_name_says_which_names_there_are():
    with pytest.raises(AnsibleLookupError) as error:
        LookupModule().run(["devtools_servcies"])
    message = str(error.value)
    assert message.startswith("devtools_servcies is not a variable of the collection's catalog")
    assert "devtools_services, " in message


def test_no_role_keeps_a_copy_of_the_service_list():
    names = [s["repository"] for s in group_vars("services.yml")["devtools_services"]]
    for path in (REPO / "roles").glob("*/*/*.yml"):
        text = path.read_text()
        assert sum(f"- {name}\n" in text or f"{name}," in text for name in names) < 3, path
