"""go_build's reading of go.mod and the go.work it writes for a build (pure logic; the
builds themselves are in tests/integration/test_go_build.py)."""

from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_build import (
    go_mod_directives,
    workfile_text,
)

GO_MOD = """\
module github.com/vhvplatform/go-auth-service // the module

go 1.25.5

require (
\tgithub.com/gin-gonic/gin v1.11.0
\tgithub.com/vhvplatform/go-shared v1.0.0
)

require github.com/redis/go-redis/v9 v9.17.2 // indirect

exclude github.com/pelletier/go-toml/v3 v3.0.0

replace github.com/vhvplatform/go-shared => ../../go-shared
"""
SHARED = "github.com/vhvplatform/go-shared"


def test_directives_are_read_block_by_block_without_comments():
    assert go_mod_directives(GO_MOD) == [
        ("module", ["github.com/vhvplatform/go-auth-service"]),
        ("go", ["1.25.5"]),
        ("require", ["github.com/gin-gonic/gin", "v1.11.0"]),
        ("require", [SHARED, "v1.0.0"]),
        ("require", ["github.com/redis/go-redis/v9", "v9.17.2"]),
        ("exclude", ["github.com/pelletier/go-toml/v3", "v3.0.0"]),
        ("replace", [SHARED, "=>", "../../go-shared"]),
    ]


def test_the_go_work_replaces_a_required_library_with_its_clone(tmp_path):
    clone = tmp_path / "go-shared"
    clone.mkdir()
    (clone / "go.mod").write_text(f"module {SHARED}\n")
    text = workfile_text("/ws/go-auth-service/server", go_mod_directives(GO_MOD), {SHARED: clone})
    assert text.splitlines()[1:] == [
        "go 1.25.5",  # the module's: a lower go.work version is refused by go
        "",
        "use /ws/go-auth-service/server",
        f"replace {SHARED} => {clone}",
    ]


def test_no_replace_where_the_module_is_not_required_or_the_library_not_cloned(tmp_path):
    clone = tmp_path / "go-shared"
    clone.mkdir()
    (clone / "go.mod").write_text(f"module {SHARED}\n")
    notification = "module github.com/vhvcorp/go-notification-service\n\ngo 1.25.5\n"
    text = workfile_text("/ws/n", go_mod_directives(notification), {SHARED: clone})
    assert "replace" not in text and "\nuse /ws/n\n" in text
    # Not cloned (no go.mod there): the go.mod's own rule stays (the proxy's version, say).
    text = workfile_text("/ws/a", go_mod_directives(GO_MOD), {SHARED: tmp_path / "missing"})
    assert "replace" not in text


def test_paths_with_spaces_are_quoted(tmp_path):
    clone = tmp_path / "my libs" / "go-shared"
    clone.mkdir(parents=True)
    (clone / "go.mod").write_text(f"module {SHARED}\n")
    text = workfile_text("/home/me/my ws/auth", go_mod_directives(GO_MOD), {SHARED: clone})
    assert '\nuse "/home/me/my ws/auth"\n' in text
    assert f'\nreplace {SHARED} => "{clone}"\n' in text
