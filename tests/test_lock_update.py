"""A lock that only gained or upgraded packages is installed on top of the image of the previous lock.

scaffold/images.py builds such an image FROM the previous one with the Dockerfile's own install step, so
only the difference is installed; anything else (a changed Dockerfile, a dropped package) is a full build.
The Docker test builds the template's Dockerfile, with tiny locks, both ways and compares the results.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess

import pytest
from conftest import REPO, unique_name
from test_dockerfiles import shipped_dockerfiles
from test_requirements_resolve import pypi  # noqa: F401 - the fixture: skip when PyPI is unreachable

from scaffold import images, lockfiles

TEMPLATE = (REPO / "experiment_template/docker/Dockerfile").read_text()
INSTALLED = (
    "import importlib.metadata as m; "
    "print(sorted(f\"{d.metadata['Name'].lower()}=={d.version}\" for d in m.distributions()))"
)


@pytest.mark.parametrize("name", sorted(shipped_dockerfiles()))
def test_every_shipped_dockerfile_can_take_a_lock_update(name):
    steps = images.lock_install_steps(shipped_dockerfiles()[name])
    assert steps is not None and steps.startswith("COPY requirements.lock /tmp/requirements.lock\n")
    assert steps.count("RUN ") == 1 and "FROM" not in steps


@pytest.mark.parametrize(
    "change",
    [
        ("COPY requirements.lock", "COPY . /app\nCOPY requirements.lock"),  # the lock also copied earlier
        ("COPY requirements.lock /tmp/", "COPY requirements.* /tmp/"),  # by a wildcard
        ("COPY requirements.lock /tmp/requirements.lock", "COPY requirements.lock setup.sh /tmp/"),
        ("COPY requirements.lock", "COPY requirements.txt /tmp/\nCOPY requirements.lock"),
        ("LABEL org", "RUN python -c 'import pandas'\nLABEL org"),  # a second RUN after the install
        ("LABEL org", "USER nobody\nLABEL org"),  # the image's user would differ from the install's
        ("LABEL org", "ENV PIP_INDEX_URL=https://example.org\nLABEL org"),
        ("FROM ${BASE_IMAGE}", "FROM ${BASE_IMAGE} AS build\nFROM ${BASE_IMAGE}"),  # two stages
        ("LABEL org", "ONBUILD RUN true\nLABEL org"),
    ],
)
def test_other_dockerfiles_get_a_full_build(change):
    old, new = change
    assert old in TEMPLATE
    assert images.lock_install_steps(TEMPLATE.replace(old, new)) is None


def test_the_recipe_hash_leaves_out_the_requirements_only(tmp_path):
    context = tmp_path / "docker"
    shutil.copytree(REPO / "experiment_template/docker", context)
    spec = images.ImageSpec("x", context)
    tag, recipe = spec.tag, spec.recipe_hash
    (context / "requirements.lock").write_text("six==1.17.0\n")
    (context / "requirements.txt").write_text("six\n")
    assert spec.tag != tag and spec.recipe_hash == recipe
    (context / "Dockerfile").write_text(TEMPLATE + "LABEL x=y\n")
    assert spec.recipe_hash != recipe


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def installed(tag: str) -> list[str]:
    return json.loads(docker("run", "--rm", tag, "python", "-c", INSTALLED).replace("'", '"'))


def inspect(tag: str) -> dict:
    return json.loads(docker("image", "inspect", tag))[0]


def remove(*names: str) -> None:
    tags = [
        line
        for name in names
        for line in subprocess.run(
            ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", name],
            capture_output=True,
            text=True,
        ).stdout.split()
    ]
    if tags:
        subprocess.run(["docker", "image", "rm", *tags], capture_output=True)


@pytest.mark.docker
def test_an_added_package_is_installed_on_top_and_matches_a_full_build(tmp_path, pypi):  # noqa: F811
    context = tmp_path / "docker"
    shutil.copytree(REPO / "experiment_template/docker", context)
    requirements = context / "requirements.txt"

    def lock(text: str) -> None:
        requirements.write_text(text)
        lockfiles.compile_lock(requirements)

    base = os.environ.get("BASE_IMAGE", "")
    name, other = unique_name("lockupd"), unique_name("lockfull")
    spec = images.ImageSpec(name, context, {"BASE_IMAGE": base} if base else {})

    def build(which: images.ImageSpec = spec) -> tuple[str, str]:
        out = io.StringIO()
        return images.ensure(which, out=out), out.getvalue()

    try:
        lock("six==1.16.0\n")
        first, said = build()
        assert "on top of" not in said and inspect(first)["Config"]["Labels"][images.UPDATES_LABEL] == "0"

        # A package added and another upgraded: installed on top of the first image, tagged as a full build.
        lock("six==1.17.0\ntabulate==0.9.0\n")
        second, said = build()
        assert second == spec.tag and f"only requirements.txt/.lock changed since {first}" in said, said
        layers = inspect(second)["RootFS"]["Layers"]
        assert layers[: len(inspect(first)["RootFS"]["Layers"])] == inspect(first)["RootFS"]["Layers"]
        assert inspect(second)["Config"]["Labels"][images.UPDATES_LABEL] == "1"
        assert inspect(f"{name}:latest")["Id"] == inspect(second)["Id"]

        # The same context built from scratch (another name, so no earlier image): the same packages.
        full, said = build(images.ImageSpec(other, context, spec.build_args))
        assert "on top of" not in said
        assert "six==1.17.0" in installed(second) and "tabulate==0.9.0" in installed(second)
        assert installed(second) == installed(full)
        for key in ("User", "Env", "Cmd", "Entrypoint", "WorkingDir"):
            assert inspect(second)["Config"][key] == inspect(full)["Config"][key], key

        # A dropped package: a full build, without it.
        lock("six==1.17.0\n")
        third, said = build()
        assert "on top of" not in said and "tabulate==0.9.0" not in installed(third)

        # A changed Dockerfile: a full build too, even though the lock only gained a package.
        (context / "Dockerfile").write_text(TEMPLATE + "LABEL changed=yes\n")
        lock("six==1.17.0\ntabulate==0.9.0\n")
        fourth, said = build()
        assert "on top of" not in said and inspect(fourth)["Config"]["Labels"][images.UPDATES_LABEL] == "0"
        assert "tabulate==0.9.0" in installed(fourth)
    finally:
        remove(name, other)


@pytest.mark.docker
def test_ensure_experiment_relocks_then_skips_the_check(tmp_path, pypi, monkeypatch):  # noqa: F811
    """`make local` / `make build-exp`: a package just added is locked before the build (the tag is the new
    lock's); once an image of the context exists, the requirements are not parsed again (that check costs
    half of an unchanged `make build-exp`)."""
    from scaffold.config import Config
    from scaffold.paths import Repo

    exp = unique_name("ensure")
    context = tmp_path / "src" / exp / "docker"
    shutil.copytree(REPO / "experiment_template/docker", context)
    requirements = context / "requirements.txt"
    requirements.write_text("six==1.16.0\n")
    lockfiles.compile_lock(requirements)
    repo, config = Repo(tmp_path), Config(tmp_path)
    try:
        first = images.ensure_experiment(repo, config, exp, quiet=True)
        requirements.write_text("six==1.16.0\ntabulate==0.9.0\n")  # added, not locked
        second = images.ensure_experiment(repo, config, exp, quiet=True)
        assert lockfiles.locked_versions(context / "requirements.lock")["tabulate"] == {"0.9.0"}
        assert second != first
        assert second == images.experiment_image(repo.experiment(exp), config.get("BASE_IMAGE")).tag
        assert "tabulate==0.9.0" in installed(second)

        def no_check(_requirements):
            raise AssertionError("the lock was checked although the image of this context exists")

        monkeypatch.setattr(lockfiles, "stale_entries", no_check)
        assert images.ensure_experiment(repo, config, exp, quiet=True) == second
    finally:
        remove(exp)
