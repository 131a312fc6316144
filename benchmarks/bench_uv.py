"""Environments made with uv against pip, side by side in one run, each from an empty download cache:

- `.venv` for the host tooling: the Makefile's rule (uv from PyPI, then the lock) against
  `python3 -m venv` + `pip install -r requirements.txt` (the rule before uv; target: uv >= 5x faster)
- the nyc_taxi image built with `--no-cache` by the classic builder, as Azure ML builds it: its Dockerfile
  against the same Dockerfile with `pip install -r requirements.txt` (target: uv >= 2.5x faster), with the
  image sizes and the time a container takes to import the experiment's libraries
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


def image(context: Path, tag: str) -> tuple[float, int, float]:
    """Seconds of a --no-cache classic build, the image's size, and the median start + import time."""
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    argv = ["docker", "build", "--no-cache", "--pull=false", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}"]
    seconds = timed([*argv, "-t", tag, str(context)], context, env)
    size = int(subprocess.check_output(["docker", "image", "inspect", "-f", "{{.Size}}", tag], text=True))
    user = (
        f"{os.getuid()}:{os.getgid()}"  # as the driver runs containers: the host user, who cannot write .pyc
    )
    start = [
        timed(
            ["docker", "run", "--rm", "--user", user, tag, "python", "-c", "import mlflow, sklearn, pandas"],
            context,
            env,
        )
        for _ in range(3)
    ]
    return seconds, size, statistics.median(start)


def images(work: Path) -> dict[str, tuple[float, int, float]]:
    uv_context = work / "ctx-uv"
    shutil.copytree(ROOT / "src" / EXP / "docker", uv_context)
    pip_context = work / "ctx-pip"
    shutil.copytree(uv_context, pip_context)
    text = (uv_context / "Dockerfile").read_text()
    start, end = text.index("COPY requirements.lock"), text.index("LABEL ")
    (pip_context / "Dockerfile").write_text(text[:start] + PIP_STEP + text[end:])
    found = {}
    try:
        for name, context in (("uv", uv_context), ("pip", pip_context)):
            found[name] = image(context, f"bench-{EXP}-{name}:tmp")
    finally:
        for name in ("uv", "pip"):
            subprocess.run(["docker", "image", "rm", "-f", f"bench-{EXP}-{name}:tmp"], capture_output=True)
    return found


def main(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        uv_venv, pip_venv = venvs(Path(folder))
    with tempfile.TemporaryDirectory() as folder:
        built = images(Path(folder))
    gb = 1e9
    rows = [
        [
            "`.venv` from an empty cache",
            f"{uv_venv:.1f} s",
            f"{pip_venv:.1f} s",
            f"{pip_venv / uv_venv:.1f}x",
            ">= 5x",
        ],
        [
            f"{EXP} image, `--no-cache` classic build",
            f"{built['uv'][0]:.1f} s",
            f"{built['pip'][0]:.1f} s",
            f"{built['pip'][0] / built['uv'][0]:.1f}x",
            ">= 2.5x",
        ],
        [
            f"{EXP} image size",
            f"{built['uv'][1] / gb:.2f} GB",
            f"{built['pip'][1] / gb:.2f} GB",
            "",
            "reported",
        ],
        [
            "container start + `import mlflow, sklearn, pandas`",
            f"{built['uv'][2]:.2f} s",
            f"{built['pip'][2]:.2f} s",
            "",
            "bytecode compiled at build",
        ],
    ]
    body = table(["measure", "uv", "pip", "pip / uv", "target"], rows)
    body += (
        f"\n\nBase image `{BASE_IMAGE}`. uv's time includes installing uv itself from PyPI (with pip) in the"
        " same step. Both sides download everything: each has its own empty cache (host), or none (image)."
    )
    write_section("uv", "Environments with uv against pip", body)
    print(body)


if __name__ == "__main__":
    main([])
