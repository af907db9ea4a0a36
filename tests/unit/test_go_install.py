"""go_install's pure logic: reading `go version -m`, naming binaries, deciding what to do."""

import pytest
import yaml
from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_install import (
    GoInstallError,
    binary_name,
    decide,
    normalize_tools,
    parse_version_m,
)
from ansible_collections.vhvcorp.devtools.plugins.modules import go_install as module

# Real output of go 1.26.8 (`go version -m`), trimmed of most build settings.
ENVSUBST = (
    "/root/go/bin/envsubst: go1.26.8\n"
    "\tpath\tgithub.com/a8m/envsubst/cmd/envsubst\n"
    "\tmod\tgithub.com/a8m/envsubst\tv1.4.3\th1:kDF7paGK8QACWYaQo6KtyYBozY2jhQrTuNNuUxQkhJY=\n"
    "\tbuild\t-buildmode=exe\n"
    "\tbuild\t-compiler=gc\n"
    "\tbuild\tCGO_ENABLED=1\n"
    "\tbuild\tGOOS=linux\n"
)
MIGRATE = (
    "/home/dev/go/bin/migrate: go1.25.3\n"
    "\tpath\tgithub.com/golang-migrate/migrate/v4/cmd/migrate\n"
    "\tmod\tgithub.com/golang-migrate/migrate/v4\tv4.19.1\th1:abc=\n"
    "\tdep\tgo.mongodb.org/mongo-driver\tv1.17.0\th1:def=\n"
    "\tdep\tgolang.org/x/sync\tv0.16.0\n"
    "\t=>\tgolang.org/x/sync\tv0.17.0\th1:ghi=\n"
    '\tbuild\t-ldflags="-s -w"\n'
    "\tbuild\t-tags=mongodb,postgres\n"
    "\tbuild\tCGO_ENABLED=0\n"
)
DEVEL = (
    "./air: go1.26.8\n"
    "\tpath\tgithub.com/air-verse/air\n"
    "\tmod\tgithub.com/air-verse/air\t(devel)\t\n"
    "\tbuild\t-compiler=gc\n"
)


def tool(**overrides):
    base = {"package": "github.com/a8m/envsubst/cmd/envsubst", "version": "v1.4.3"}
    base.update(overrides)
    return normalize_tools([base])[0]


def test_parse_a_plain_binary():
    info = parse_version_m(ENVSUBST)
    assert info == {
        "go_version": "go1.26.8",
        "path": "github.com/a8m/envsubst/cmd/envsubst",
        "module": "github.com/a8m/envsubst",
        "version": "v1.4.3",
        "tags": [],
    }


def test_parse_tags_and_ignore_deps_and_replacements():
    info = parse_version_m(MIGRATE)
    assert info["path"] == "github.com/golang-migrate/migrate/v4/cmd/migrate"
    assert (info["module"], info["version"]) == ("github.com/golang-migrate/migrate/v4", "v4.19.1")
    assert info["tags"] == ["mongodb", "postgres"]
    assert info["go_version"] == "go1.25.3"


def test_parse_a_local_build_and_non_go_output():
    assert parse_version_m(DEVEL)["version"] == "(devel)"
    assert parse_version_m("") is None
    assert parse_version_m("/usr/bin/env: go1.26.8\n") is None


@pytest.mark.parametrize(
    ("package", "name"),
    [
        ("github.com/air-verse/air", "air"),
        ("github.com/golang-migrate/migrate/v4/cmd/migrate", "migrate"),
        ("github.com/golangci/golangci-lint/v2/cmd/golangci-lint", "golangci-lint"),
        ("example.com/mycmd/v2", "mycmd"),
        ("example.com/mycmd/v12", "mycmd"),
        ("example.com/mycmd/v1", "v1"),  # v0 and v1 are never major-version suffixes
        ("example.com/tool/v0", "v0"),
        ("google.golang.org/protobuf/cmd/protoc-gen-go", "protoc-gen-go"),
    ],
)
def test_binary_name_follows_go(package, name):
    assert binary_name(package) == name


def test_decide_missing_tool_is_installed():
    assert decide(tool(), None, exists=False) == ("installed", "not installed")


def test_decide_same_version_is_unchanged():
    assert decide(tool(), parse_version_m(ENVSUBST), exists=True)[0] == "unchanged"


def test_decide_other_version_is_upgraded():
    status, reason = decide(tool(version="v1.4.2"), parse_version_m(ENVSUBST), exists=True)
    assert status == "upgraded"
    assert reason == "version v1.4.3 is installed, v1.4.2 is wanted"


def test_decide_other_module_path_is_upgraded():
    status, reason = decide(
        tool(package="example.com/fork/cmd/envsubst"), parse_version_m(ENVSUBST), exists=True
    )
    assert status == "upgraded"
    assert "built from github.com/a8m/envsubst/cmd/envsubst" in reason


def test_decide_other_tags_are_upgraded_and_tag_order_does_not_matter():
    migrate = {
        "package": "github.com/golang-migrate/migrate/v4/cmd/migrate",
        "version": "v4.19.1",
    }
    info = parse_version_m(MIGRATE)
    only_mongo = normalize_tools([dict(migrate, tags=["mongodb"])])[0]
    assert decide(only_mongo, info, exists=True)[0] == "upgraded"
    both = normalize_tools([dict(migrate, tags=["postgres", "mongodb"])])[0]
    assert decide(both, info, exists=True)[0] == "unchanged"


def test_decide_a_file_that_is_not_a_go_program_is_replaced():
    assert decide(tool(), None, exists=True)[0] == "upgraded"


def test_normalize_fills_in_name_tags_and_env():
    got = normalize_tools(
        [
            {
                "package": "github.com/golang-migrate/migrate/v4/cmd/migrate",
                "version": "v4.20.1",
                "tags": "mongodb",
                "env": {"CGO_ENABLED": 0},
            }
        ]
    )
    assert got == [
        {
            "name": "migrate",
            "package": "github.com/golang-migrate/migrate/v4/cmd/migrate",
            "version": "v4.20.1",
            "tags": ["mongodb"],
            "env": {"CGO_ENABLED": "0"},
        }
    ]


@pytest.mark.parametrize("version", ["latest", "upgrade", "1.4.3", "", "v1.4"])
def test_normalize_refuses_unpinned_versions_quoting_them(version):
    with pytest.raises(GoInstallError) as exc:
        normalize_tools([{"package": "github.com/a8m/envsubst/cmd/envsubst", "version": version}])
    assert f"tools[0].version is {version!r} for tool 'envsubst'" in str(exc.value)
    assert "pinned version" in str(exc.value)


def test_normalize_accepts_prereleases_and_pseudo_versions():
    for version in ("v1.0.0-rc.1", "v0.0.0-20240101000000-abcdef123456", "v2.0.0+incompatible"):
        assert normalize_tools([{"package": "example.com/x", "version": version}])


def test_normalize_refuses_a_version_in_the_package_and_duplicate_names():
    with pytest.raises(GoInstallError, match=r"tools\[0\].package is 'example.com/x@v1.0.0'"):
        normalize_tools([{"package": "example.com/x@v1.0.0", "version": "v1.0.0"}])
    with pytest.raises(GoInstallError, match=r"tools\[1\] installs 'x', as tools\[0\] does"):
        normalize_tools(
            [
                {"package": "example.com/x", "version": "v1.0.0"},
                {"package": "example.org/x", "version": "v1.0.0"},
            ]
        )


def test_documentation_states_check_mode_and_returns():
    # Options and suboptions against the spec: tests/unit/test_module_docs.py.
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["attributes"]["check_mode"]["support"] == "full"
    returned = yaml.safe_load(module.RETURN)
    for key, value in returned.items():
        assert value.get("description") and value.get("type") and "returned" in value, key
        assert "sample" in value, key
    examples = yaml.safe_load(module.EXAMPLES)
    assert any("vhvcorp.devtools.go_install" in task for task in examples)
    assert any("ansible.builtin.assert" in task for task in examples)
