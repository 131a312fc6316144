"""Environments made with uv against pip, side by side in one run, each from an empty download cache:

- `.venv` for the host tooling: the Makefile's rule (uv from PyPI, then the lock) against
  `python3 -m venv` + `pip install -r requirements.txt` (the rule before uv; target: uv >= 5x faster)
- the nyc_taxi image built with `--no-cache` by the classic builder, as Azure ML builds it: its Dockerfile
  against the same Dockerfile with `pip install -r requirements.txt` (target: uv >= 2.5x faster) and with uv
  but without `--compile-bytecode`; the image sizes, and the time a container takes to import the
  experiment's libraries (what compiling at build saves at every start)
- the Jupyter layer (`make jupyter`) built with `--no-cache` on that image: docker/jupyter/Dockerfile
  against the same layer installed with `pip install -r requirements.txt`
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from results import table, write_section

ROOT = Path(__file__).resolve().parents[1]
EXP = "nyc_taxi"
BASE_IMAGE = os.environ.get("BASE_IMAGE") or "scaffold-base:bookworm-py3"
VARIANTS = ("uv", "uv-no-compile", "pip")
IMPORTS = "import mlflow, sklearn, pandas"
STARTS = 5
PIP_STEP = (
    "COPY requirements.txt /tmp/requirements.txt\n"
    "RUN python -m pip install --no-cache-dir -r /tmp/requirements.txt && rm /tmp/requirements.txt\n"
)


def timed(argv: list[str], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stdout[-2000:]}")
    return time.perf_counter() - started


def venvs(work: Path) -> tuple[float, float]:
    """Seconds to create .venv with the Makefile's uv rule, and with pip as before; empty caches for both."""
    for name in ("uv", "pip"):
        (work / name).mkdir()
        for file in ("Makefile", "requirements.txt", "requirements.lock"):
            shutil.copy(ROOT / file, work / name / file)
    env = {
        **os.environ,
        "PIP_CACHE_DIR": str(work / "pip-cache"),
        "UV_CACHE_DIR": str(work / "uv-cache"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    uv = timed(["make", "venv"], work / "uv", env)
    env["PIP_CACHE_DIR"] = str(work / "pip-cache-2")
    pip = timed(
        ["bash", "-c", "python3 -m venv .venv && .venv/bin/python -m pip install -q -r requirements.txt"],
        work / "pip",
        env,
    )
    return uv, pip


def build(context: Path, tag: str, arg: str = f"BASE_IMAGE={BASE_IMAGE}") -> tuple[float, int]:
    """Seconds of a --no-cache classic build and the image's size in bytes."""
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    argv = ["docker", "build", "--no-cache", "--pull=false", "--build-arg", arg]
    seconds = timed([*argv, "-t", tag, str(context)], context, os.environ | env)
    size = int(subprocess.check_output(["docker", "image", "inspect", "-f", "{{.Size}}", tag], text=True))
    return seconds, size


def start_times(tags: list[str]) -> list[float]:
    """Median seconds of `docker run` + importing the libraries, the images taking turns. As a non-root user,
    as the driver runs containers: it cannot write .pyc files, so what the build did not compile is
    compiled again at every start."""
    argv = ["docker", "run", "--rm", "--user", "1000:1000"]
    seconds: dict[str, list[float]] = {tag: [] for tag in tags}
    for _ in range(STARTS):
        for tag in tags:
            seconds[tag].append(timed([*argv, tag, "python", "-c", IMPORTS], ROOT, dict(os.environ)))
    return [statistics.median(seconds[tag]) for tag in tags]


def images(work: Path) -> dict[str, tuple[float, int, float]]:
    """The experiment's Dockerfile (uv), the same without --compile-bytecode, and with pip as before."""
    contexts = {name: work / f"ctx-{name}" for name in VARIANTS}
    for context in contexts.values():
        shutil.copytree(ROOT / "src" / EXP / "docker", context)
    text = (contexts["uv"] / "Dockerfile").read_text()
    start, end = text.index("COPY requirements.lock"), text.index("LABEL ")
    (contexts["pip"] / "Dockerfile").write_text(text[:start] + PIP_STEP + text[end:])
    (contexts["uv-no-compile"] / "Dockerfile").write_text(text.replace(" --compile-bytecode", ""))
    tags = {name: f"bench-{EXP}-{name}:tmp" for name in VARIANTS}
    layers = {name: f"bench-{EXP}-jupyter-{name}:tmp" for name in ("uv", "pip")}
    try:
        built = {name: build(contexts[name], tags[name]) for name in VARIANTS}
        starts = dict(zip(VARIANTS, start_times([tags[name] for name in VARIANTS])))
        for name, seconds in jupyter_layers(work, tags["uv"], layers).items():
            built[f"jupyter-{name}"] = (seconds, 0)
    finally:  # the layers first: an image cannot go while another is built on it
        subprocess.run(["docker", "image", "rm", "-f", *layers.values()], capture_output=True)
        subprocess.run(["docker", "image", "rm", "-f", *tags.values()], capture_output=True)
    return {name: (*built[name], starts.get(name, 0.0)) for name in built}


def jupyter_layers(work: Path, image: str, tags: dict[str, str]) -> dict[str, float]:
    """Seconds to build the Jupyter layer on `image`: its Dockerfile (uv), and with pip as before."""
    uv, pip = work / "jupyter-uv", work / "jupyter-pip"
    shutil.copytree(ROOT / "docker" / "jupyter", uv)
    shutil.copytree(uv, pip)
    text = (uv / "Dockerfile").read_text()
    step = "RUN python -m pip install --no-cache-dir -r /tmp/jupyter-requirements.txt\n"
    (pip / "Dockerfile").write_text(text[: text.index("# The experiment's packages")] + step)
    contexts = {"uv": uv, "pip": pip}
    return {name: build(contexts[name], tags[name], f"EXP_IMAGE={image}")[0] for name in contexts}


def main(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        uv_venv, pip_venv = venvs(Path(folder))
    with tempfile.TemporaryDirectory() as folder:
        built = images(Path(folder))
    gb = 1e9
    uv, bare, pip = (built[name] for name in VARIANTS)
    jupyter_uv, jupyter_pip = built["jupyter-uv"][0], built["jupyter-pip"][0]
    rows = [
        [
            "`.venv` from an empty cache",
            f"{uv_venv:.1f} s",
            "",
            f"{pip_venv:.1f} s",
            f"{pip_venv / uv_venv:.1f}x",
        ]
        + [">= 5x"],
        [f"{EXP} image, `--no-cache` classic build"]
        + [f"{x[0]:.1f} s" for x in (uv, bare, pip)]
        + [f"{pip[0] / uv[0]:.1f}x ({pip[0] / bare[0]:.1f}x without compiling)", ">= 2.5x"],
        [f"{EXP} image size"] + [f"{x[1] / gb:.2f} GB" for x in (uv, bare, pip)] + ["", "reported"],
        [f"container start + `{IMPORTS}`, non-root, median of {STARTS}"]
        + [f"{x[2]:.2f} s" for x in (uv, bare, pip)]
        + ["", "no compiling at start"],
        ["Jupyter layer on that image, `--no-cache` classic build", f"{jupyter_uv:.1f} s", "",
         f"{jupyter_pip:.1f} s", f"{jupyter_pip / jupyter_uv:.1f}x", "reported"],
    ]  # fmt: skip
    body = table(["measure", "uv", "uv without `--compile-bytecode`", "pip", "pip / uv", "target"], rows)
    body += (
        f"\n\nBase image `{BASE_IMAGE}`; builds in the order of the columns, container starts taking turns."
        " uv's times include installing uv itself from PyPI with pip. Each side downloads everything: its own"
        " empty cache on the host, none in a build. pip compiles bytecode by default; uv only when asked, and"
        " compiling the ~0.9 GB of site-packages is CPU work that both builds then share, so on a loaded"
        " machine it bounds the build ratio."
    )
    write_section("uv", "Environments with uv against pip", body)
    print(body)


if __name__ == "__main__":
    main([])
