"""Batch-score files with a registered taxi model locally, with the driver Azure ML runs (batch_driver.py).

`make local EXP=taxi_batch` takes nyc_taxi_fare from the local MLflow registry (latest, or --model-version),
runs batch_driver.init() and run(mini_batch) over the CSV/Parquet files in <data>/taxi_batch/input (a sample
is generated there when it holds none; --input for another file or folder), in mini-batches of
mini_batch_size files, and appends each mini-batch's rows to <data>/taxi_batch/outputs/predictions.csv as
Azure ML's append_row does (space-separated, no header; read it with batch_driver.read_predictions).
mini_batch_size and error_threshold default to batch-deployment.yml's. It prints rows, files, failures and
throughput and exits 1 when more files failed than the threshold. <data> is $DATA_DIR or ../data.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import batch_driver

from common.registry import resolve_version

HERE = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("DATA_DIR", "../data"))
DEFAULT_MODEL = "nyc_taxi_fare"
LAST_RUN: dict = {}  # figures of the last score() call, for the benchmark


def deployment_settings() -> dict:
    """mini_batch_size and error_threshold as the batch deployment YAML sets them."""
    import yaml

    settings = yaml.safe_load((HERE / "batch-deployment.yml").read_text())
    return {
        "mini_batch_size": int(settings.get("mini_batch_size", 10)),
        "error_threshold": int(settings.get("error_threshold", -1)),
        "processes": int(settings.get("max_concurrency_per_instance", 1)),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    defaults = deployment_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-name", default=DEFAULT_MODEL)
    parser.add_argument("--model-version", default=None, help="default: the latest")
    parser.add_argument(
        "--model-dir", type=Path, default=None, help="an MLflow model folder (skips the registry)"
    )
    parser.add_argument(
        "--input", type=Path, default=None, help="file or folder (default: <data>/taxi_batch/input)"
    )
    parser.add_argument("--output", type=Path, default=None, help="default: <data>/taxi_batch/outputs")
    parser.add_argument(
        "--mini-batch-size", type=int, default=defaults["mini_batch_size"], help="files per batch"
    )
    parser.add_argument(
        "--error-threshold", type=int, default=defaults["error_threshold"], help="-1: no limit"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=defaults["processes"],
        help="scoring processes (max_concurrency_per_instance)",
    )
    parser.add_argument("--sample-files", type=int, default=4, help="files in a generated sample")
    parser.add_argument("--sample-rows", type=int, default=25_000, help="rows per generated file")
    return parser.parse_args(argv)


def input_files(path: Path) -> list[Path]:
    """The files to score: the file itself, or every file in the folder (Azure ML passes them all)."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))


def generate_sample(folder: Path, files: int, rows: int) -> None:
    from common.cities import NYC
    from common.generator import write_trips

    print(f"local: no input files in {folder}; generating {files} files of {rows} NYC trips")
    for number in range(files):
        write_trips(folder / f"trips_{number:02d}.parquet", NYC, rows, seed=100 + number)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    home = DATA_DIR / "taxi_batch"
    source = args.input or home / "input"
    if args.input is None and not (source.is_dir() and input_files(source)):
        generate_sample(source, args.sample_files, args.sample_rows)
    if not source.exists():
        print(f"error: no such file or folder: {source}", file=sys.stderr)
        return 2
    files = input_files(source)
    if not files:
        print(f"error: {source}: no files to score", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="taxi_batch-", dir="/tmp" if os.path.isdir("/tmp") else None))
    try:
        if args.model_dir:
            model_dir, label = args.model_dir, str(args.model_dir)
        else:
            version = resolve_version(args.model_name, args.model_version)
            if version is None:
                print(
                    f"error: no registered model {args.model_name}: run make local EXP=nyc_taxi first",
                    file=sys.stderr,
                )
                return 2
            import mlflow

            uri = f"models:/{args.model_name}/{version}"
            model_dir = Path(
                mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(work / "model"))
            )
            label = f"{args.model_name} version {version}"
        output = args.output or home / "outputs"
        return score(
            model_dir, label, files, output, args.mini_batch_size, args.error_threshold, args.processes
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _worker_init(model_dir: str) -> None:
    """In each scoring process: the driver's init(); the parent applies the threshold over all processes."""
    os.environ[batch_driver.MODEL_DIR_VARIABLE] = model_dir
    os.environ[batch_driver.THRESHOLD_VARIABLE] = "-1"
    batch_driver.init()


def _worker_run(files: list[str]):
    """run() on one mini-batch; returns its rows and the files that failed in it."""
    batch_driver.failures.clear()
    frame = batch_driver.run(files)
    return frame, list(batch_driver.failures)


def append_rows(frame, sink) -> None:
    """Append run()'s rows as Azure ML's append_row does: values joined by a space, no header, no index."""
    frame.to_csv(sink, sep=" ", header=False, index=False, lineterminator="\n")


def _ready(_) -> None:
    time.sleep(0.05)


def score(
    model_dir: Path,
    label: str,
    files: list[Path],
    output: Path,
    size: int,
    threshold: int,
    processes: int = 1,
) -> int:
    """init() once per process, run() per mini-batch appended to predictions.csv; apply the threshold."""
    import multiprocessing

    size = max(size, 1)
    batches = [[str(f) for f in files[i : i + size]] for i in range(0, len(files), size)]
    processes = max(1, min(processes, len(batches)))
    print(
        f"local: scoring {len(files)} file(s) with {label}, mini-batches of {size} file(s), "
        f"{processes} process(es)"
    )
    output.mkdir(parents=True, exist_ok=True)
    target = output / "predictions.csv"
    started = time.perf_counter()
    rows, done_files, failed, exceeded = 0, set(), [], None
    pool = multiprocessing.Pool(processes, _worker_init, (str(model_dir),)) if processes > 1 else None
    try:
        if pool is None:
            _worker_init(str(model_dir))
            outcomes = map(_worker_run, batches)
        else:
            pool.map(_ready, range(processes * 4), chunksize=1)  # every process has loaded the model
            outcomes = pool.imap(_worker_run, batches)
        loaded = time.perf_counter()
        with open(target, "w", newline="") as sink:
            for frame, failures in outcomes:
                append_rows(frame, sink)
                rows += len(frame)
                done_files.update(frame["file"])
                failed += failures
                if 0 <= threshold < len(failed):
                    exceeded = batch_driver.threshold_message(failed, threshold)
                    break
        scored = time.perf_counter()
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    seconds = scored - loaded
    rate = rows / seconds if seconds > 0 else float("inf")
    LAST_RUN.update(rows=rows, files=len(done_files), seconds=seconds, processes=processes)
    print(
        f"local: {rows} rows from {len(done_files)} file(s) in {seconds:.2f}s ({rate:,.0f} rows/s; "
        f"model load {loaded - started:.1f}s); failed files: {len(failed)} (threshold {threshold})"
    )
    for name, reason in failed:
        print(f"  failed: {name}: {reason}")
    print(f"local: wrote {target}")
    if exceeded is not None:
        print(f"error: {exceeded}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
