"""Each MongoDB module's documentation says exactly what its argument spec accepts.

A small stand-in for ansible-test's validate-modules, which needs network access to set up.
"""

import importlib

import pytest
import yaml
from ansible_collections.vhvcorp.devtools.plugins.doc_fragments.mongodb import ModuleDocFragment

MODULES = ["mongodb_seed", "mongodb_reset", "mongodb_migrate"]


def load(name):
    return importlib.import_module(f"ansible_collections.vhvcorp.devtools.plugins.modules.{name}")


def documented_options(module):
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["extends_documentation_fragment"] == ["vhvcorp.devtools.mongodb"]
    options = dict(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])
    options.update(doc["options"])
    return doc, options


@pytest.mark.parametrize("name", MODULES)
def test_every_option_is_documented_as_specified(name):
    module = load(name)
    doc, documented = documented_options(module)
    spec = module.argument_spec()
    assert doc["module"] == name
    assert set(documented) == set(spec)
    for option, rules in spec.items():
        described = documented[option]
        assert described.get("description"), option
        assert described["type"] == rules.get("type", "str"), option
        assert described.get("default") == rules.get("default"), option
        assert described.get("choices") == rules.get("choices"), option
        assert bool(described.get("required")) == bool(rules.get("required")), option
        assert described.get("elements") == rules.get("elements"), option


@pytest.mark.parametrize("name", MODULES)
def test_attributes_examples_and_return_are_complete(name):
    module = load(name)
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert doc["attributes"]["diff_mode"]["support"] in ("full", "none")
    examples = yaml.safe_load(module.EXAMPLES)
    assert any(f"vhvcorp.devtools.{name}" in task for task in examples)
    assert any("ansible.builtin.assert" in task for task in examples)  # a runnable story
    returned = yaml.safe_load(module.RETURN)
    for key, value in returned.items():
        assert value.get("description") and value.get("type") and "returned" in value, key
        assert "sample" in value, key


def test_seed_documents_diff_support_it_has():
    assert yaml.safe_load(load("mongodb_seed").DOCUMENTATION)["attributes"]["diff_mode"] == {
        "support": "full",
        "details": "Shows each inserted or replaced document before and after, as Extended JSON.",
    }
