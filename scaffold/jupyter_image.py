"""The JupyterLab layer on top of an experiment image, and the command that starts it."""

from __future__ import annotations

from scaffold import images
from scaffold.paths import Repo

PORT = 8888


def ensure(repo: Repo, exp: str, experiment_tag: str) -> str:
    """Build (once per experiment image) the docker/jupyter layer; return its tag."""
    spec = images.ImageSpec(
        f"{exp}-jupyter",
        repo.docker / "jupyter",
        {"EXP_IMAGE": experiment_tag},
        {"scaffold.experiment": exp},
    )
    return images.ensure(spec, quiet=True)


def command() -> list[str]:
    """JupyterLab on all interfaces inside the container; the driver publishes it on 127.0.0.1 only."""
    return [
        "jupyter",
        "lab",
        "--ip=0.0.0.0",
        f"--port={PORT}",
        "--no-browser",
        "--ServerApp.root_dir=/project",
        "--allow-root",  # CI runs as root; the container user is the host user either way
    ]  # fmt: skip  (the token comes from JUPYTER_TOKEN, passed by name so it is not on a command line)
