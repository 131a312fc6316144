"""Run the four steps (prep, train, evaluate, register) locally, in order, as `make local` does.

Data: every CSV/Parquet file under <data>/<experiment>/raw/ (e.g. data/nyc_taxi/raw/ in the repository); if
there is none, a sample is generated there first. Outputs go to <data>/<experiment>/outputs/. <data> is
$DATA_DIR or ../data (the repository's data/ folder, as mounted in the container). Unknown options go to the
train step, e.g. `make local EXP=nyc_taxi XARGS="--max_iter 500"`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from experiment import EXPERIMENT

from common.steps.local import run_pipeline

DATA_DIR = Path(os.environ.get("DATA_DIR", "../data"))


def main(argv: list[str] | None = None) -> int:
    """Parse local options and run the pipeline under one parent MLflow run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--raw_data", type=Path, default=None, help="file or folder (default: <data>/<experiment>/raw)"
    )
    parser.add_argument(
        "--rows", type=int, default=200_000, help="size of the generated sample, if one is needed"
    )
    parser.add_argument("--seed", type=int, default=42, help="seed of the split (and of a generated sample)")
    parser.add_argument("--min_improvement", type=float, default=0.0, help="test R2 gain needed to register")
    args, train_args = parser.parse_known_args(argv)
    return run_pipeline(
        EXPERIMENT, DATA_DIR, args.raw_data, args.rows, args.seed, args.min_improvement, train_args
    )


if __name__ == "__main__":
    sys.exit(main())
