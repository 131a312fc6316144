"""`make job EXP=nyc_taxi XARGS=--local` against the same work in one process; a step's container overhead.

Side by side in one run, on the same 200k generated trips (in a temporary folder of the repository's
data/): the nyc_taxi pipeline with `--local` (four containers, the MLflow stand-in)
and `make local EXP=nyc_taxi` (the same four steps in one process and one container), alternating for
three rounds; the median of each side. Target: at most 1.5x.
Then a step's overhead: `Containers.run` of a one-line command against a bare `docker run --rm` of the same
image, each timed three times (median).
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from results import table, write_section

REPO = Path(__file__).resolve().parents[1]
ROWS = 200_000
ROUNDS = 3  # each side's median of 3


def timed(argv: list[str], env: dict | None = None, output: list | None = None) -> float:
    """Seconds `argv` took; its standard output is appended to `output` when given."""
    started = time.monotonic()
    done = subprocess.run(argv, cwd=REPO, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} failed: {(done.stderr or done.stdout)[-400:]}")
    if output is not None:
        output.append(done.stdout)
    return time.monotonic() - started


def step_seconds(job_output: str, job: str) -> dict[str, float]:
    """Each step's seconds from the job's summary (`  <step>  Completed  12.3 s  run ...`)."""
    summary = job_output.split(f"\njob {job}: ", 1)[-1].splitlines()[1:]
    found = (re.match(r"\s+(\S+)\s+\S+\s+([\d.]+) s\s", line) for line in summary)
    return {match[1]: float(match[2]) for match in found if match}


def stand_in_ready() -> float:
    """Median seconds of 3 until the MLflow stand-in answers a request, over a store that exists already."""
    sys.path.insert(0, str(REPO))
    from scaffold.azure.mlflow_service import serving

    times = []
    with tempfile.TemporaryDirectory(prefix="bench-mlflow-") as folder:
        for _ in range(4):  # the first creates the store
            started = time.monotonic()
            with serving(folder) as uri:
                urllib.request.urlopen(
                    f"{uri}/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default"
                )
                times.append(time.monotonic() - started)
    return statistics.median(times[1:])


def step_overhead(image: str) -> tuple[float, float]:
    """(median bare docker run, median Containers.run) of `true` in `image`, seconds."""
    sys.path.insert(0, str(REPO))
    from scaffold.local_job.steps import Containers, Step

    bare, step = [], []
    with tempfile.TemporaryDirectory(prefix="bench-step-") as work:
        for index in range(3):
            bare.append(timed(["docker", "run", "--rm", image, "bash", "-c", "true"]))
            one = Step(f"s{index}", "true", image, Path(work) / f"wd{index}", Path(work) / f"{index}.log")
            one.workdir.mkdir()
            started = time.monotonic()
            Containers({"scaffold.bench": "1"}, open(os.devnull, "w")).run(one)
            step.append(time.monotonic() - started)
    return statistics.median(bare), statistics.median(step)


def main(argv: list[str]) -> int:
    folder = REPO / "data" / f"bench-{uuid.uuid4().hex[:8]}"
    jobs = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(ROUNDS)]
    try:
        generate = (
            "import sys; from pathlib import Path; from common.generator import write_trips; "
            "from common.cities import NYC; "
            f"write_trips(Path(sys.argv[1]) / 'trips.parquet', NYC, {ROWS}, seed=3)"
        )
        subprocess.run(
            [sys.executable, "-c", generate, str(folder)], check=True, env={**os.environ, "PYTHONPATH": "src"}
        )
        make = ["make", "--no-print-directory"]
        timed([*make, "build-exp", "EXP=nyc_taxi"])
        one_process, pipelines, outputs = [], [], []
        for job in jobs:  # alternating, so that a slow spell of the machine falls on both sides
            one_process.append(
                timed([*make, "local", "EXP=nyc_taxi", f"XARGS=--raw_data ../data/{folder.name}"])
            )
            pipelines.append(
                timed(
                    [
                        *make,
                        "job",
                        "EXP=nyc_taxi",
                        f"XARGS=--local --name {job} --set inputs.raw_data.path={folder}",
                    ],
                    output=outputs,
                )
            )
        median = sorted(range(ROUNDS), key=pipelines.__getitem__)[ROUNDS // 2]
        job, pipeline, one_process = jobs[median], pipelines[median], statistics.median(one_process)
        steps = step_seconds(outputs[median], job)
        ready = stand_in_ready()
        image = subprocess.run(
            ["docker", "images", "nyc_taxi", "--format", "{{.Repository}}:{{.Tag}}"],
            capture_output=True,
            text=True,
        ).stdout.split()[0]
        bare, step = step_overhead(image)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for job in jobs:
            shutil.rmtree(REPO / "data" / ".jobs" / job, ignore_errors=True)
    ratio = pipeline / one_process
    rows = [
        [
            f"nyc_taxi, {ROWS:,} trips: `make local` (4 steps, one process), median of {ROUNDS}",
            f"{one_process:.1f} s",
            "1.00x",
        ],
        [
            f"the same pipeline YAML with `make job XARGS=--local` (4 containers), median of {ROUNDS}",
            f"{pipeline:.1f} s",
            f"{ratio:.2f}x",
        ],
        ["target", "", "at most 1.5x"],
        *[[f"- step {name} (from the median job's summary)", f"{t:.1f} s", ""] for name, t in steps.items()],
        [
            "- the rest: driver, SDK load, MLflow stand-in start, runs' bookkeeping",
            f"{pipeline - sum(steps.values()):.1f} s",
            "",
        ],
        ["MLflow stand-in ready to answer (store exists), median of 3", f"{ready:.1f} s", ""],
        ["bare `docker run --rm` of the image (`true`), median of 3", f"{bare:.2f} s", ""],
        [
            "a `--local` step container (`true`, mounts, variables), median of 3",
            f"{step:.2f} s",
            f"+{step - bare:.2f} s",
        ],
    ]
    load = os.getloadavg()[0]
    body = table(["measure", "time", "ratio"], rows) + (
        f"\n\nLoad average when it finished: {load:.1f} (other work on the machine slows both sides alike)."
    )
    write_section("local_job", "make job --local against one process", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
