"""Local deployment side by side: Azure ML inference server (score.py) vs `mlflow models serve`; batch rows/s.

A NYC taxi fare model with the default hyperparameters is trained on the host (100k generated trips) and
saved as the train step saves it (signature and input example). In one taxi_online container, each server
in turn serves it on 127.0.0.1 and gets 10,000 requests at concurrency 8 (1-row and 100-row bodies; one
keep-alive connection per load-generator thread), with 1 and 2 server workers; then batch_driver.py scores
1M generated rows in 10 Parquet files (mini-batches of 2 files). The load generator shares the machine's
cores with the servers. Results go to the `deploy` section of benchmarks/RESULTS.md.

    python benchmarks/bench_deploy.py [--requests 10000] [--workers 1,2] [--batch-rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SRC = ROOT / "src"
TARGETS = {"p50_ms": 10.0, "p99_ms": 50.0, "batch_rows_per_s": 200_000}


def train_model(model_dir: Path, rows: int) -> None:
    sys.path.insert(0, str(SRC))
    import mlflow.sklearn
    from mlflow.models import infer_signature

    from common.cities import NYC
    from common.generator import generate_frame
    from common.model import SKOPS_TRUSTED_TYPES, build_model
    from common.schema import FEATURES, TARGET

    frame = generate_frame(NYC, rows, seed=11)
    model = build_model().fit(frame[FEATURES], frame[TARGET])
    example = frame[FEATURES].head(5)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore")
        signature = infer_signature(example, model.predict(example))
        mlflow.sklearn.save_model(
            model,
            model_dir,
            signature=signature,
            input_example=example,
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )


def write_batch(folder: Path, rows: int, files: int = 10) -> None:
    from common.cities import NYC
    from common.generator import write_trips

    for number in range(files):
        write_trips(folder / f"trips_{number:02d}.parquet", NYC, rows // files, seed=200 + number)


def image() -> str:
    sys.path.insert(0, str(ROOT))
    from scaffold import images
    from scaffold.config import Config
    from scaffold.paths import Repo

    os.environ.setdefault("SCAFFOLD_ROOT", str(ROOT))
    repo = Repo.find()
    return images.ensure_experiment(repo, Config(repo.root), "taxi_online", quiet=True)


def run_inside(tag: str, work: Path, requests: int, workers: str) -> dict:
    mounts = {
        work: "/bench",
        HERE / "deploy_load.py": "/bench_code/deploy_load.py",
        SRC / "taxi_online": "/project/taxi_online",
        SRC / "taxi_batch": "/project/taxi_batch",
        SRC / "common": "/project/common",
    }
    argv = ["docker", "run", "--rm", "--init", "--user", f"{os.getuid()}:{os.getgid()}", "-e", "HOME=/tmp"]
    argv += [
        "-e",
        "PYTHONPATH=/project",
        "-e",
        "PYTHONDONTWRITEBYTECODE=1",
        "-e",
        f"BENCH_REQUESTS={requests}",
    ]
    argv += ["-e", f"BENCH_WORKERS={workers}", "-e", "MPLCONFIGDIR=/tmp/matplotlib"]
    for host, inside in mounts.items():
        readonly = "" if inside == "/bench" else ",readonly"
        argv += ["--mount", f"type=bind,source={host},target={inside}{readonly}"]
    argv += [
        tag,
        "python",
        "/bench_code/deploy_load.py",
        "/bench/model",
        "/bench/batch",
        "/bench/result.json",
    ]
    subprocess.run(argv, check=True)
    return json.loads((work / "result.json").read_text())


def report(result: dict, requests: int) -> str:
    from results import table

    rows = []
    for workers, configs in result["online"].items():
        for size in ("1", "100"):
            ours, theirs = configs[f"azmlinfsrv|{size}"], configs[f"mlflow|{size}"]
            rows.append(
                [
                    workers,
                    size,
                    f"{ours['p50_ms']:.1f}",
                    f"{ours['p99_ms']:.1f}",
                    ours["errors"],
                    f"{ours['requests_per_s']:.0f}",
                    f"{theirs['p50_ms']:.1f}",
                    f"{theirs['p99_ms']:.1f}",
                    theirs["errors"],
                    f"{theirs['requests_per_s']:.0f}",
                    f"{ours['p50_ms'] / theirs['p50_ms']:.2f}",
                ]
            )
    headers = ["workers", "rows/request", "azmlinfsrv p50 ms", "p99 ms", "errors", "req/s"]
    headers += ["mlflow serve p50 ms", "p99 ms", "errors", "req/s", "p50 ratio (ours/mlflow)"]
    one, two = result["batch"]["1"], result["batch"]["2"]
    verdict = []
    for workers, configs in result["online"].items():
        single = configs["azmlinfsrv|1"]
        ratio = single["p50_ms"] / configs["mlflow|1"]["p50_ms"]
        verdict.append(
            f"{workers} worker(s): 1-row p50 {single['p50_ms']:.1f} ms (target <= {TARGETS['p50_ms']:.0f}), "
            f"p99 {single['p99_ms']:.1f} ms (target <= {TARGETS['p99_ms']:.0f}), {single['errors']} errors, "
            f"p50 {ratio:.2f}x mlflow's"
        )
    best = max(one["rows_per_s"], two["rows_per_s"])
    verdict.append(f"batch {best:,.0f} rows/s (target >= {TARGETS['batch_rows_per_s']:,})")
    return (
        f"{requests:,} requests per configuration at concurrency 8, 127.0.0.1 inside one taxi_online "
        "container; the Python load generator shares the cores with the server. Same model "
        "(HistGradientBoosting, default hyperparameters, 100k training trips) behind both servers: score.py "
        "under `azmlinfsrv` (body `input_data`, split orientation; the trees scored by Treelite) and `mlflow "
        "models serve --env-manager local` (`dataframe_split`; scikit-learn's `predict`).\n\n"
        + table(headers, rows)
        + "\n\nBatch: taxi_batch's `local.py` (batch_driver.py `init()`/`run()`, one thread per process) "
        + f"over {one['rows']:,} rows in {one['files']} Parquet files, mini-batches of 2 files, best of 2: "
        + f"1 process {one['seconds']:.2f} s, **{one['rows_per_s']:,.0f} rows/s**; 2 processes "
        + f"(`max_concurrency_per_instance: 2`) {two['seconds']:.2f} s, "
        + f"**{two['rows_per_s']:,.0f} rows/s**.\n\n"
        + "Against the targets (deployment.yml sets `WORKER_COUNT: 2`; azmlinfsrv defaults to 1):\n\n"
        + "\n".join(f"- {line}" for line in verdict)
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--train-rows", type=int, default=100_000)
    parser.add_argument("--batch-rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(SRC))
    from results import write_section

    tag = image()
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        started = time.perf_counter()
        train_model(work / "model", args.train_rows)
        write_batch(work / "batch", args.batch_rows)
        took = time.perf_counter() - started
        print(f"bench_deploy: model and {args.batch_rows:,} batch rows ready in {took:.0f}s")
        result = run_inside(tag, work, args.requests, args.workers)
    body = report(result, args.requests)
    print(body)
    write_section("deploy", "Local deployment: inference server vs mlflow serve, batch scoring", body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
