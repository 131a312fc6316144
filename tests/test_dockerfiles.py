"""Every Dockerfile Azure ML builds defaults to a Microsoft Container Registry base.

Azure ML builds environment.build contexts with no build arguments, so `ARG BASE_IMAGE=<default>` is what runs
in the cloud, and anonymous Docker Hub pulls are rate-limited. dockerfile-parse resolves the default as a
build with no arguments does; BASE_IMAGE still overrides it for local builds (scaffold.images).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from conftest import REPO

MCR = "mcr.microsoft.com/"
DEFAULT = "mcr.microsoft.com/azureml/minimal-py311-inference:latest"


def shipped_dockerfiles() -> dict[str, str]:
    """Experiment Dockerfiles: src/*/docker, the template and what `make new-exp` unpacks from the zip."""
    found = {
        path.relative_to(REPO).as_posix(): path.read_text()
        for path in sorted(
            [*REPO.glob("src/*/docker/Dockerfile"), REPO / "experiment_template/docker/Dockerfile"]
        )
    }
    with zipfile.ZipFile(REPO / "experiment_template.zip") as archive:
        for name in archive.namelist():
            if name.endswith("docker/Dockerfile"):
                found[f"experiment_template.zip:{name}"] = archive.read(name).decode()
    return found


def base_image(text: str, tmp_path: Path, build_args: dict | None = None) -> str:
    from dockerfile_parse import DockerfileParser

    (tmp_path / "Dockerfile").write_text(text)
    return DockerfileParser(path=str(tmp_path), build_args=build_args or {}).baseimage


def test_every_experiment_and_the_template_ship_a_dockerfile():
    names = shipped_dockerfiles()
    assert {"src/nyc_taxi/docker/Dockerfile", "experiment_template/docker/Dockerfile"} <= set(names)
    assert any(name.startswith("experiment_template.zip:") for name in names)


@pytest.mark.parametrize("name", sorted(shipped_dockerfiles()))
def test_default_base_image_is_on_mcr(name, tmp_path):
    text = shipped_dockerfiles()[name]
    default = base_image(text, tmp_path)
    assert default.startswith(MCR), f"{name}: a build with no arguments starts FROM {default}, not from {MCR}"
    assert default == DEFAULT, f"{name}: every experiment shares one base ({DEFAULT}), got {default}"
    assert (
        base_image(text, tmp_path, {"BASE_IMAGE": "scaffold-base:bookworm-py3"})
        == "scaffold-base:bookworm-py3"
    )
