"""build.yml through its make targets, as users type them (go-devtools' build-all.sh,
build-service.sh, docker-build-all.sh, then docker-push-all.sh): the stand-in clones of two
services in a workspace of the test's own, compiled with the stack role's go_build, their
images built FROM the local Debian base (tagged into a namespace of this test), and pushed to
a docker-registry of the test's own on 127.0.0.1. Nothing is started."""

import contextlib
import json
import subprocess
import uuid

import docker
import pytest

pytestmark = pytest.mark.integration

BASE_IMAGE = "vhvcorp-local/debian:bookworm"
SERVICES = ["auth-service", "user-service"]


@pytest.fixture(scope="module")
def built(standin_fixtures, engine, tmp_path_factory):
    """The workspace, ARGS= for make, and the image namespace; the images removed after."""
    root = tmp_path_factory.mktemp("build")
    workspace = standin_fixtures.clone_workspace(root, SERVICES)
    (workspace / ".env").write_text("LOG_LEVEL=info\n")
    namespace = f"buildtest-{uuid.uuid4().hex[:8]}"
    engine.images.get(BASE_IMAGE).tag(f"{namespace}/debian", "bookworm")
    extra = root / "vars.json"
    extra.write_text(
        json.dumps(
            {
                "workspace": str(workspace),
                "devtools_libraries": [standin_fixtures.DEMO_LIBRARY],
                "devtools_stack_services": SERVICES,
                "devtools_stack_generate": False,
                "devtools_stack_profile": "custom",
                "devtools_stack_custom_components": [],
                "devtools_stack_project": namespace,
                "devtools_stack_local_namespace": namespace,
                # The base is tagged above: nothing to build, only to find.
                "stack_build_local_images": False,
                "stack_validate": False,
            }
        )
    )
    yield {"workspace": workspace, "ARGS": f"-e @{extra}", "namespace": namespace}
    for image in engine.images.list():
        for tag in image.tags:
            if namespace in tag:
                with contextlib.suppress(docker.errors.ImageNotFound):
                    engine.images.remove(tag, force=True)


def binary(built, service):
    return built["workspace"] / "deploy" / "build" / service / service


def test_build_service_compiles_that_service_alone(make, built):
    run = make("build-service", SERVICE="user-service", ARGS=built["ARGS"])
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert binary(built, "user-service").is_file()
    assert not binary(built, "auth-service").exists()
    # The stand-in takes no flags: one given stops it with usage and exit 2.
    usage = subprocess.run(
        [binary(built, "user-service"), "-x"], capture_output=True, text=True, check=False
    )
    assert usage.returncode == 2 and "flag provided but not defined" in usage.stderr
    assert f"user-service: {binary(built, 'user-service')}" in run.stdout


def test_build_service_of_a_name_not_in_the_catalog_names_the_services(make, built):
    run = make("build-service", SERVICE="nosuch", ARGS=built["ARGS"])
    assert run.returncode != 0
    said = " ".join(run.stdout.split())
    assert (
        "service=nosuch is not a service of this catalog; choose one of auth-service, user-service"
        in said
    )
    nothing = make("build-service", ARGS=built["ARGS"])
    assert nothing.returncode == 2 and "Say which service: SERVICE=" in nothing.stderr


def test_build_all_compiles_every_service_and_a_rerun_changes_nothing(make, built):
    run = make("build-all", ARGS=built["ARGS"])
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    for service in SERVICES:
        assert binary(built, service).is_file()
    again = make("build-all", ARGS=built["ARGS"])
    assert again.returncode == 0, again.stdout[-4000:]
    assert " changed=0 " in again.stdout, again.stdout[-2000:]


def test_docker_build_all_builds_the_images_and_docker_push_pushes_them(
    make, built, engine, registry, registry_tags
):
    run = make("docker-build-all", ARGS=built["ARGS"])
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    for service in SERVICES:
        image = engine.images.get(f"{built['namespace']}/{service}:latest")
        assert image.labels.get("org.vhvcorp.devtools.recipe")
    again = make("docker-build-all", ARGS=built["ARGS"])
    assert again.returncode == 0 and " changed=0 " in again.stdout, again.stdout[-2000:]

    pushed = make("docker-push", REGISTRY=registry, TAG="v1", ARGS=built["ARGS"])
    assert pushed.returncode == 0, pushed.stdout[-4000:]
    for service in SERVICES:
        assert registry_tags(registry, f"{built['namespace']}/{service}") == ["v1"]
