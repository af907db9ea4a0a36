"""Each module's documentation says exactly what its argument spec accepts.

A small stand-in for ansible-test's validate-modules, which needs network access to set up.
"""

import importlib
from pathlib import Path

import pytest
import yaml
from ansible_collections.vhvcorp.devtools.plugins.doc_fragments.mongodb import ModuleDocFragment

MODULES = ["mongodb_seed", "mongodb_reset", "mongodb_migrate"]
# Every module whose argument spec is a function the tests can call.
SPEC_MODULES = sorted(
    path.stem
    for path in (Path(__file__).resolve().parents[2] / "plugins" / "modules").glob("*.py")
    if "\ndef argument_spec(" in path.read_text()
)


def load(name):
    return importlib.import_module(f"ansible_collections.vhvcorp.devtools.plugins.modules.{name}")


def documented_options(module):
    doc = yaml.safe_load(module.DOCUMENTATION)
    options = {}
    if "vhvcorp.devtools.mongodb" in doc.get("extends_documentation_fragment", []):
        options.update(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])
    options.update(doc["options"])
    return doc, options


def assert_documented_as_specified(documented, spec, where):
    """Options (and, recursively, suboptions) agree with the spec, key for key."""
    assert set(documented) == set(spec), where
    for option, rules in spec.items():
        described, at = documented[option], f"{where}.{option}"
        assert described.get("description"), at
        assert described["type"] == rules.get("type", "str"), at
        assert described.get("default") == rules.get("default"), at
        assert described.get("choices") == rules.get("choices"), at
        assert bool(described.get("required")) == bool(rules.get("required")), at
        assert described.get("elements") == rules.get("elements"), at
        if "options" in rules:
            assert_documented_as_specified(described["suboptions"], rules["options"], at)


def test_every_module_with_a_spec_function_is_checked():
    assert set(MODULES) < set(SPEC_MODULES)
    assert {"env_validate", "git_repositories", "go_install", "jwt_token"} < set(SPEC_MODULES)


@pytest.mark.parametrize("name", SPEC_MODULES)
def test_every_option_is_documented_as_specified(name):
    module = load(name)
    doc, documented = documented_options(module)
    assert doc["module"] == name
    if name in MODULES:
        assert doc["extends_documentation_fragment"] == ["vhvcorp.devtools.mongodb"]
    assert_documented_as_specified(documented, module.argument_spec(), name)


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
