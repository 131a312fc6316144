"""Inner-loop speed, each measured side by side with its baseline in one run (medians of interleaved runs):

- `make local` on a warm image against the bare `docker run` it executes (target: overhead <= 0.3 s)
- `make build-exp` with nothing changed against `docker build` with a warm cache (<= 0.5 s, and faster)
- `make help` (<= 0.1 s) and `python -m scaffold --help` (<= 0.2 s)
- two parts of those overheads, reported: the driver's imports for `make local`, and the up-to-date check
  (`docker image inspect`) that both commands make
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import table, write_section

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python")
REPEAT = 7
# What this bench measured before issue 14 (commit a33f7c8, 2026-11-23), when the image check went over the
# daemon's socket with a hand-written client and `.env` was split with shlex.
BEFORE = (
    "Before issue 14 (a33f7c8, 2026-11-23): make local +0.072 s, unchanged build-exp 0.057 s (x0.94). Since"
    " then the image check is the docker CLI's (the part above) instead of a hand-written socket client, and"
    " config.env and .env are read by python-dotenv (about 0.025 s of imports) instead of shlex."
)


def timed(argv: list[str], cwd: Path, env: dict | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def side_by_side(first: list[str], second: list[str], cwd: Path, env=None) -> tuple[float, float]:
    """Median seconds of two commands, run alternately so that machine noise hits both alike."""
    a, b = [], []
    timed(first, cwd, env), timed(second, cwd, env)  # warm-up
    for _ in range(REPEAT):
        a.append(timed(first, cwd, env))
        b.append(timed(second, cwd, env))
    return statistics.median(a), statistics.median(b)


def prepare(repo: Path) -> str:
    """A throw-away repository copy with a minimal experiment whose script does nothing."""
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import copy_repository

    copy_repository(repo)
    name = "bench_loop"
    subprocess.run(
        [PY, "-m", "scaffold", "new-exp", "--exp", name], cwd=repo, check=True, stdout=subprocess.DEVNULL
    )
    (repo / "src" / name / "local.py").write_text("print('ok')\n")
    return name


def main(argv: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": ""}
    with tempfile.TemporaryDirectory() as folder:
        repo = Path(folder) / "repo"
        name = prepare(repo)
        subprocess.run(["make", "build-exp", f"EXP={name}"], cwd=repo, check=True, capture_output=True)

        sys.path.insert(0, str(ROOT))
        from scaffold import containers, images
        from scaffold.config import Config
        from scaffold.paths import Repo

        config = Config(repo)
        spec = images.experiment_image(repo / "src" / name, config.get("BASE_IMAGE"))
        run = containers.RunSpec(Repo(repo), name, spec.tag, containers.script_command("local.py", []))
        bare_run = run.argv("run")
        local_make, local_bare = side_by_side(["make", "local", f"EXP={name}"], bare_run, repo, env)

        build_args = sum((["--build-arg", f"{k}={v}"] for k, v in spec.build_args.items()), [])
        docker_build = ["docker", "build", "-q", *build_args, "-t", f"{name}:bench", str(spec.context)]
        build_make, build_docker = side_by_side(["make", "build-exp", f"EXP={name}"], docker_build, repo, env)

        help_make, baseline = side_by_side(["make", "help"], ["true"], repo, env)
        help_driver, python_bare = side_by_side(
            [PY, "-m", "scaffold", "--help"], [PY, "-c", "pass"], repo, env
        )
        imports, imports_base = side_by_side(
            [PY, "-c", "import scaffold.commands.local, scaffold.containers"], [PY, "-c", "pass"], repo, env
        )
        inspect, true = side_by_side(
            ["docker", "image", "inspect", "--format", "{{.Id}}", run.image], ["true"], repo, env
        )
        shutil.rmtree(repo / "src" / name, ignore_errors=True)
        subprocess.run(
            ["docker", "rmi", "-f", f"{name}:bench", run.image, f"{name}:latest"], capture_output=True
        )

    build_met = build_make <= 0.5 and build_make < build_docker
    rows = [
        ["make local (warm image) vs bare docker run", f"{local_make:.3f}", f"{local_bare:.3f}",
         f"{local_make - local_bare:+.3f} s", "overhead <= 0.3 s", _ok(local_make - local_bare <= 0.3)],
        ["make build-exp (unchanged) vs docker build", f"{build_make:.3f}", f"{build_docker:.3f}",
         f"x{build_make / build_docker:.2f}", "<= 0.5 s and faster", _ok(build_met)],
        ["make help vs `true`", f"{help_make:.3f}", f"{baseline:.3f}", f"{help_make - baseline:+.3f} s",
         "<= 0.1 s", _ok(help_make <= 0.1)],
        ["python -m scaffold --help vs python -c pass", f"{help_driver:.3f}", f"{python_bare:.3f}",
         f"{help_driver - python_bare:+.3f} s", "<= 0.2 s", _ok(help_driver <= 0.2)],
        ["part: make local's imports vs python -c pass", f"{imports:.3f}", f"{imports_base:.3f}",
         f"{imports - imports_base:+.3f} s", "reported", ""],
        ["part: docker image inspect (is it built?) vs `true`", f"{inspect:.3f}", f"{true:.3f}",
         f"{inspect - true:+.3f} s", "reported", ""],
    ]  # fmt: skip
    body = table(["measure", "ours (s, median)", "baseline (s, median)", "difference", "target", "met"], rows)
    print(body)
    write_section(
        "inner_loop",
        "Inner loop (`benchmarks/bench_inner_loop.py`)",
        body + f"\n\n{REPEAT} interleaved runs each, after one warm-up. {BEFORE}",
    )


def _ok(flag: bool) -> str:
    return "yes" if flag else "NO"


if __name__ == "__main__":
    main(sys.argv[1:])
