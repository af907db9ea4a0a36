"""ns_include / ns_exclude / ns_from / ns_to follow mongorestore's pattern language."""

import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils._namespaces import (
    NamespaceError,
    NamespaceMatcher,
    NamespaceRenamer,
)


def test_matcher_wildcards_and_escapes():
    match = NamespaceMatcher(["prod.*", "go_dev.users", r"odd.a\*b"], "ns_include")
    assert match("prod.users") and match("prod.a.b")
    assert match("go_dev.users") and not match("go_dev.users2")
    assert match("odd.a*b") and not match("odd.axb")
    assert not match("production.users")
    assert not NamespaceMatcher([], "ns_exclude")("anything.at_all")


def test_renamer_maps_stars_and_variables():
    rename = NamespaceRenamer(["prod.*"], ["dev.*"])
    assert rename("prod.users") == "dev.users"
    assert rename("other.users") == "other.users"
    rename = NamespaceRenamer(["data.$prefix$_$suffix$"], ["$prefix$.$suffix$"])
    assert rename("data.tenant_users") == "tenant.users"
    rename = NamespaceRenamer(["a.*_*"], ["b.*-*"])
    assert rename("a.x_y_z") == "b.x-y_z"  # non-greedy, as mongorestore's (.*?)


def test_renamer_last_matching_pair_wins():
    rename = NamespaceRenamer(["prod.*", "prod.users"], ["dev.*", "dev.people"])
    assert rename("prod.users") == "dev.people"
    assert rename("prod.tenants") == "dev.tenants"


@pytest.mark.parametrize(
    "froms, tos, message",
    [
        (["prod.*"], [], "same number of patterns"),
        (["prod.*"], ["dev"], "different numbers of \\*"),
        (["prod.$a$"], ["dev.$b$"], "does not define"),
        (["prod.$a$.$a$"], ["dev.$a$"], "twice"),
        (["prod.$a"], ["dev.$a$"], "odd number of \\$"),
    ],
)
def test_bad_renames_are_refused_with_the_option_named(froms, tos, message):
    with pytest.raises(NamespaceError, match=message):
        NamespaceRenamer(froms, tos)


def test_dollar_in_include_pattern_is_refused():
    with pytest.raises(NamespaceError, match="Option `ns_include`"):
        NamespaceMatcher(["prod.$x$"], "ns_include")
