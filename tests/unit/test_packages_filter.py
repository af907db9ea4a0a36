"""dpkg_missing: the packages dpkg does not show installed, from dpkg-query's output."""

from ansible_collections.vhvcorp.devtools.plugins.filter.packages import dpkg_missing

OUTPUT = "git ii \nmake ii \ncurl rc \njq iU \n"


def test_only_fully_installed_packages_count():
    # rc: removed with its configuration left; iU: unpacked, not configured.
    assert dpkg_missing(OUTPUT, ["git", "make", "curl", "jq", "rsync"]) == ["curl", "jq", "rsync"]


def test_names_dpkg_does_not_list_exactly_are_left_to_apt():
    assert dpkg_missing(OUTPUT, ["git=1:2.39.5-0+deb12u1", "make:amd64"]) == [
        "git=1:2.39.5-0+deb12u1",
        "make:amd64",
    ]
    assert dpkg_missing("", ["git"]) == ["git"]
    assert dpkg_missing(OUTPUT, []) == []
