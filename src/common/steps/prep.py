"""prep: validate raw trips, drop out-of-range rows (logging how many), split 70/15/15 by seed.

What is dropped, and why (the ranges are the city's, in common.cities):
- empty cells, coordinates outside the city's box (0.0 is a GPS fix that never came), zero distance (the
  meter recorded no trip), no passengers, and for NYC fares under $2.50 (the flag drop, the least the meter
  charges: zero and negative amounts are voids, refunds and disputes, not prices): data-entry errors, whose
  `cost` the features cannot explain;
What is kept: negotiated fares and trips ended at the curb ($2.50-$3.50 for under 0.1 mile). They are real
prices inside every range, a small share of the public data, and a model should see that they exist.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from common import tracking
from common.data import load_frame
from common.experiment import Experiment
from common.steps.io import SPLITS, split_path


def add_arguments(parser: argparse.ArgumentParser, experiment: Experiment) -> None:
    """Options of the prep step."""
    parser.add_argument("--raw_data", required=True, help="CSV/Parquet file or folder of them")
    parser.add_argument("--prep_data", required=True, help="output folder for train/val/test.parquet")
    parser.add_argument("--seed", type=int, default=42, help="seed of the split")
    parser.add_argument("--train_fraction", type=float, default=0.70)
    parser.add_argument("--val_fraction", type=float, default=0.15, help="the rest is the test split")


def split_indices(rows: int, seed: int, train_fraction: float, val_fraction: float) -> dict[str, np.ndarray]:
    """Disjoint, seeded row indices for train, val and test."""
    if not (0 < train_fraction < 1 and 0 <= val_fraction < 1 and train_fraction + val_fraction < 1):
        raise ValueError("fractions must be in (0, 1) and leave rows for the test split")
    order = np.random.default_rng(seed).permutation(rows)
    n_train, n_val = int(round(rows * train_fraction)), int(round(rows * val_fraction))
    return {
        "train": order[:n_train],
        "val": order[n_train : n_train + n_val],
        "test": order[n_train + n_val :],
    }


def run(args: argparse.Namespace, experiment: Experiment) -> dict[str, int]:
    """Validate, filter, split and write; returns the row counts that were logged."""
    from common.validation import validate

    with tracking.step_run("prep"):
        raw = load_frame(args.raw_data)
        clean, report = validate(raw, experiment.city, str(args.raw_data))
        del raw
        print(f"prep: {report.summary()}")
        if report.extra_columns:
            print(f"prep: ignoring extra column(s): {', '.join(report.extra_columns)}")
        parts = split_indices(len(clean), args.seed, args.train_fraction, args.val_fraction)
        out = Path(args.prep_data)
        out.mkdir(parents=True, exist_ok=True)
        counts = {
            "rows_in": report.rows_in,
            "rows_dropped": report.rows_dropped,
            "rows_kept": report.rows_kept,
        }
        for split in SPLITS:
            clean.iloc[np.sort(parts[split])].to_parquet(split_path(out, split), index=False)
            counts[f"rows_{split}"] = len(parts[split])
        tracking.log_params(
            {"seed": args.seed, "train_fraction": args.train_fraction, "val_fraction": args.val_fraction}
        )
        tracking.log_params({"city": experiment.city.name, "currency": experiment.city.currency})
        tracking.log_metrics(counts)
        tracking.log_metrics({k: v for k, v in report.dropped_by_column.items() if v}, prefix="dropped_")
        return counts
