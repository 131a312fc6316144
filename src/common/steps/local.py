"""The local pipeline behind every taxi experiment's local.py: find or generate data, run the four steps."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from common.errors import DataError
from common.experiment import Experiment
from common.steps import main as run_step
from common.steps.io import EVALUATION, REGISTRATION, read_json


def main(experiment: Experiment, argv: list[str] | None = None) -> int:
    """Parse local options and run the pipeline; unknown options go to the train step.

    Data: every CSV/Parquet file under <data>/<experiment>/raw/; if there is none, a sample is generated
    there first. Outputs go to <data>/<experiment>/outputs/. <data> is $DATA_DIR or ../data (the
    repository's data/ folder, as mounted in the container).
    """
    parser = argparse.ArgumentParser(description=f"{experiment.name}: prep, train, evaluate, register")
    parser.add_argument(
        "--raw_data", type=Path, default=None, help="file or folder (default: <data>/<experiment>/raw)"
    )
    parser.add_argument(
        "--rows", type=int, default=200_000, help="size of the generated sample, if one is needed"
    )
    parser.add_argument("--seed", type=int, default=42, help="seed of the split (and of a generated sample)")
    parser.add_argument("--min_improvement", type=float, default=0.0, help="test R2 gain needed to register")
    args, train_args = parser.parse_known_args(argv)
    data_dir = Path(os.environ.get("DATA_DIR", "../data"))
    return run_pipeline(
        experiment, data_dir, args.raw_data, args.rows, args.seed, args.min_improvement, train_args
    )


def find_or_generate(experiment: Experiment, raw_dir: Path, rows: int, seed: int) -> Path:
    """The raw data folder; when it holds no CSV/Parquet file, generate a sample in it and say so."""
    from common.data import SUFFIXES
    from common.generator import write_trips

    if raw_dir.is_dir() and any(p.suffix.lower() in SUFFIXES for p in raw_dir.rglob("*") if p.is_file()):
        print(f"local: using the data in {raw_dir}")
        return raw_dir
    sample = raw_dir / "sample.parquet"
    print(f"local: no CSV/Parquet file in {raw_dir}; generating {rows} {experiment.city.name} sample trips")
    try:
        write_trips(sample, experiment.city, rows, seed=seed, dirty_fraction=0.002)
    except OSError as exc:  # read-only or full data folder; pyarrow's own text names a temporary file
        reason = os.strerror(exc.errno) if exc.errno else str(exc).splitlines()[0]
        raise DataError(f"no data in {raw_dir}, and a sample cannot be written there: {reason}") from None
    print(f"local: wrote {sample} (put your own files in {raw_dir} to use them instead)")
    return raw_dir


def run_pipeline(
    experiment: Experiment,
    data_dir: Path,
    raw_data: Path | None,
    rows: int,
    seed: int,
    min_improvement: float,
    train_args: list[str],
) -> int:
    """Run prep, train, evaluate and register under one parent run; print metrics, version and run."""
    import mlflow

    from common import tracking

    home = data_dir / experiment.name
    try:
        raw = raw_data if raw_data is not None else find_or_generate(experiment, home / "raw", rows, seed)
    except (DataError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = home / "outputs"
    prep, model, evaluation, registration = (
        out / name for name in ("prep", "model", "evaluation", "registration")
    )
    steps = [
        ["prep", "--raw_data", str(raw), "--prep_data", str(prep), "--seed", str(seed)],
        ["train", "--prep_data", str(prep), "--model_output", str(model), *train_args],
        [
            "evaluate",
            "--prep_data",
            str(prep),
            "--model_input",
            str(model),
            "--evaluation_output",
            str(evaluation),
        ]
        + ["--min_improvement", str(min_improvement)],
        ["register", "--model_input", str(model), "--evaluation_output", str(evaluation)]
        + ["--registration_output", str(registration)],
    ]
    name = tracking.use_local_store(data_dir, experiment.name)
    with mlflow.start_run(run_name=f"{experiment.name} local pipeline", tags=tracking.run_tags()) as parent:
        mlflow.set_tag("data", str(raw))
        for argv in steps:
            code = run_step(argv, experiment)
            if code:
                mlflow.set_tag("failed_step", argv[0])
                return code
    result, registered = read_json(evaluation / EVALUATION), read_json(registration / REGISTRATION)
    _report(experiment, name, parent.info.run_id, result, registered)
    return 0


def _report(
    experiment: Experiment, mlflow_experiment: str, run_id: str, result: dict, registered: dict
) -> None:
    """The closing summary: test metrics, what happened in the registry, where to look."""
    metrics = result["test"]
    print(
        f"\n{experiment.name} test metrics ({result['currency']}): "
        + ", ".join(f"{key} {metrics[key]:.4f}" for key in ("r2", "mse", "rmse", "mae"))
    )
    if registered["registered"]:
        print(f"registered model: {registered['model_name']} version {registered['version']}")
    else:
        print(
            f"not registered: {result['reason']}; {registered['model_name']} v{registered['version']} stays"
        )
    print(
        f"run: experiment {mlflow_experiment}, run id {run_id}; "
        "see it with `make mlflow-ui` (http://127.0.0.1:5000)"
    )
