"""__EXP__: the entry point Azure ML runs (`python main.py --data ...`).

Reads a CSV file, logs a parameter, a metric and an artifact with MLflow. The
same code runs locally (tracked in the repository's MLflow store) and in Azure
ML (tracked in the workspace): MLFLOW_TRACKING_URI is set by the platform.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import mlflow
import pandas as pd

from common.summary import numeric_summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="CSV file (a uri_file input in Azure ML)")
    parser.add_argument("--target", default="value", help="column whose mean is logged as a metric")
    return parser.parse_args(argv)


def load(path: str) -> pd.DataFrame:
    """Read the input CSV, or stop with one line that says what is wrong with it."""
    file = Path(path)
    if not file.is_file():
        sys.exit(f"error: data file not found: {path}")
    try:
        frame = pd.read_csv(file)
    except pd.errors.EmptyDataError:
        sys.exit(f"error: data file is empty: {path}")
    if frame.empty:
        sys.exit(f"error: data file has a header but no rows: {path}")
    return frame


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    frame = load(args.data)
    if args.target not in frame.columns:
        sys.exit(f"error: column {args.target!r} not in {args.data}; columns: {', '.join(frame.columns)}")
    summary = numeric_summary(frame)
    with mlflow.start_run() as run:
        if os.environ.get("SCAFFOLD_IMAGE"):
            mlflow.set_tag("image", os.environ["SCAFFOLD_IMAGE"])
        mlflow.log_param("rows", len(frame))
        mlflow.log_metric(f"{args.target}_mean", summary[args.target]["mean"])
        with tempfile.TemporaryDirectory() as folder:
            report = Path(folder) / "summary.json"
            report.write_text(json.dumps(summary, indent=2))
            mlflow.log_artifact(str(report))
        mean = summary[args.target]["mean"]
        print(f"run {run.info.run_id}: {args.target}_mean = {mean:.4f} over {len(frame)} rows")
    return summary


if __name__ == "__main__":
    main()
