"""Lock files and the Dockerfiles that install them, checked without the network.

Every requirements.txt (host tooling, each experiment, the template) has a requirements.lock beside it that
satisfies it, with a hash for every pin; `make lock` writes them (scaffold/lockfiles.py). The experiment
Dockerfiles install that lock with uv and must build with the classic builder, as Azure ML builds them:
no BuildKit-only syntax (`RUN --mount`, `# syntax=`, heredocs).
"""

from __future__ import annotations

import re
import shutil
import zipfile

import pytest
from conftest import REPO
from test_dockerfiles import shipped_dockerfiles
from test_requirements_resolve import pypi  # noqa: F401 - the fixture: skip when PyPI is unreachable

from scaffold import images, lockfiles

REQUIREMENTS = sorted(
    [REPO / "requirements.txt", *REPO.glob("src/*/docker/requirements.txt")]
    + [REPO / "experiment_template/docker/requirements.txt"]
)


def ids(paths):
    return [p.relative_to(REPO).as_posix() for p in paths]


@pytest.mark.parametrize("requirements", REQUIREMENTS, ids=ids(REQUIREMENTS))
def test_lock_is_current_with_requirements(requirements):
    assert lockfiles.lock_of(requirements).is_file(), f"no lock beside {requirements}: run make lock"
    stale = lockfiles.stale_entries(requirements)
    assert (
        not stale
    ), f"{requirements.relative_to(REPO)} asks for {stale}, which its lock lacks: run make lock"


@pytest.mark.parametrize("requirements", REQUIREMENTS, ids=ids(REQUIREMENTS))
def test_every_locked_package_has_a_hash(requirements):
    text = lockfiles.lock_of(requirements).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])  # after the two-line header
    unhashed = [entry.split()[0] for entry in entries if entry.strip() and "--hash=sha256:" not in entry]
    assert not unhashed, f"pins without a hash (installs with --require-hashes would fail): {unhashed}"


def test_template_zip_carries_the_templates_lock():
    with zipfile.ZipFile(REPO / "experiment_template.zip") as archive:
        zipped = archive.read("docker/requirements.lock").decode()
    assert zipped == (REPO / "experiment_template/docker/requirements.lock").read_text(), "run make template"


def test_a_package_added_or_changed_makes_the_lock_stale(tmp_path):
    (tmp_path / "requirements.txt").write_text("pandas==2.3.3\n")
    (tmp_path / "requirements.lock").write_text("pandas==2.3.3 \\\n    --hash=sha256:00\n")
    assert lockfiles.stale_entries(tmp_path / "requirements.txt") == []
    (tmp_path / "requirements.txt").write_text(
        "pandas==2.3.4\nazureml-dataset-runtime[fuse]==1.0  # comment\n"
    )
    assert lockfiles.stale_entries(tmp_path / "requirements.txt") == [
        "pandas==2.3.4",
        "azureml-dataset-runtime[fuse]==1.0",
    ]


def test_the_image_tag_changes_with_the_lock(tmp_path):
    context = tmp_path / "docker"
    shutil.copytree(REPO / "src/nyc_taxi/docker", context)
    before = images.context_hash(context, {})
    lock = context / "requirements.lock"
    lock.write_text(lock.read_text().replace("pandas==2.3.3", "pandas==2.3.2"))
    assert images.context_hash(context, {}) != before


@pytest.mark.parametrize("name", sorted(shipped_dockerfiles()))
def test_dockerfile_builds_with_the_classic_builder(name):
    text = shipped_dockerfiles()[name]
    assert not re.search(r"^\s*#\s*syntax\s*=", text, re.M | re.I), f"{name}: a BuildKit frontend directive"
    assert not re.search(r"^\s*RUN\s+--", text, re.M | re.I), f"{name}: RUN flags (--mount...) need BuildKit"
    assert "<<" not in text, f"{name}: heredocs need BuildKit"


@pytest.mark.parametrize("name", sorted(shipped_dockerfiles()))
def test_dockerfile_installs_the_lock_with_uv_at_the_pinned_version(name):
    text = shipped_dockerfiles()[name]
    uv_pin = re.search(r"^uv==\S+", (REPO / "requirements.txt").read_text(), re.M).group(0)
    assert f"pip install --no-cache-dir {uv_pin} " in text, f"{name}: uv pinned as in requirements.txt"
    assert "COPY requirements.lock " in text and "--require-hashes -r /tmp/requirements.lock" in text
    assert "--compile-bytecode" in text


def test_jupyter_layer_installs_with_uv_at_the_pinned_version():
    """The layer's uv is the one requirements.txt pins, as in the experiments' Dockerfiles."""
    text = (REPO / "docker" / "jupyter" / "Dockerfile").read_text()
    uv_pin = re.search(r"^uv==\S+", (REPO / "requirements.txt").read_text(), re.M).group(0)
    assert f"pip install --no-cache-dir {uv_pin} " in text and "--compile-bytecode" in text
    assert not re.search(r"^\s*RUN\s+--", text, re.M | re.I), "RUN flags (--mount...) need BuildKit"


def test_a_package_added_to_requirements_is_locked_before_the_build(tmp_path, pypi):  # noqa: F811
    """What `make build-exp` and `make local` do first (uv resolves against PyPI)."""
    docker = tmp_path / "docker"
    shutil.copytree(REPO / "experiment_template/docker", docker)
    requirements = docker / "requirements.txt"
    requirements.write_text(requirements.read_text() + "tabulate==0.9.0\n")
    assert lockfiles.stale_entries(requirements) == ["tabulate==0.9.0"]
    lockfiles.refresh_if_stale(requirements)
    assert lockfiles.stale_entries(requirements) == []
    assert lockfiles.locked_versions(docker / "requirements.lock")["tabulate"] == {"0.9.0"}
