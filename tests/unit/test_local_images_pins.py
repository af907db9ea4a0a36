"""The local_images role's pins agree with the rest of the collection: the go image's Go is
the release the go_toolchain role installs, its air the dev overlay's, and the Jaeger image
builds the approved release (1.75.0) as the tool of our module."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = REPO / "roles"


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_the_go_image_has_the_go_toolchain_roles_release_and_the_dev_overlays_air():
    local_images = load(ROLES / "local_images" / "defaults" / "main.yml")
    go_toolchain = load(ROLES / "go_toolchain" / "defaults" / "main.yml")
    stack = load(REPO / "group_vars" / "all" / "stack.yml")
    assert local_images["local_images_go_version"] == go_toolchain["go_toolchain_version"]
    assert local_images["local_images_air_version"] == stack["devtools_stack_dev_air_version"]


def test_the_jaeger_module_builds_the_approved_release_as_its_tool():
    module = (ROLES / "local_images" / "files" / "jaeger" / "go.mod").read_text().splitlines()
    catalog = load(ROLES / "local_images" / "vars" / "main.yml")["local_images_catalog"]
    package = catalog["jaeger"]["program"]["package"]
    assert f"tool {package}" in module
    assert any(
        line.split()[:2] == ["github.com/jaegertracing/jaeger", "v1.75.0"] for line in module
    )
    assert catalog["jaeger"]["tag"] == "1.75"
