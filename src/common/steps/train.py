"""train: fit the fare model on the train split, score it on val, save it as an MLflow model."""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

from common import tracking
from common.experiment import Experiment
from common.metrics import regression_metrics
from common.model import DEFAULTS, SKOPS_TRUSTED_TYPES, build_model, pip_requirements
from common.steps.io import empty_folder, read_split

HYPERPARAMETERS = {
    "learning_rate": float,
    "max_iter": int,
    "max_leaf_nodes": int,
    "min_samples_leaf": int,
    "l2_regularization": float,
    "max_bins": int,
}


def add_arguments(parser: argparse.ArgumentParser, experiment: Experiment) -> None:
    """Options of the train step: data, output, and every hyperparameter (for sweeps)."""
    parser.add_argument("--prep_data", required=True, help="folder written by prep")
    parser.add_argument("--model_output", required=True, help="folder to save the MLflow model in")
    defaults = {**DEFAULTS, **experiment.train_defaults}
    for name, kind in HYPERPARAMETERS.items():
        parser.add_argument(f"--{name}", type=kind, default=defaults[name])
    parser.add_argument("--random_state", type=int, default=0)
    parser.add_argument(
        "--log_every",
        type=int,
        default=0,
        help="log val_r2 every N boosting iterations (for a sweep's early termination); 0: only at the end",
    )


def fit_in_stages(model, features, target, val_features, val_target, every: int) -> None:
    """Boost `every` iterations at a time (warm start), logging val_r2 after each stage.

    A sweep's early-termination policy compares trials on these intermediate values and stops poor ones.
    """
    total = model.max_iter
    model.set_params(warm_start=True)
    for stage in [*range(every, total, every), total]:
        model.set_params(max_iter=stage)
        model.fit(features, target)
        if stage < total:  # the final value is logged with the other val metrics
            r2 = regression_metrics(val_target, model.predict(val_features))["r2"]
            tracking.log_metrics({"val_r2": r2}, step=model.n_iter_)
    model.set_params(warm_start=False)


def run(args: argparse.Namespace, experiment: Experiment) -> dict[str, float]:
    """Fit, log val metrics (val_r2 is the sweep objective) and save the model; returns val metrics."""
    import mlflow
    from mlflow.models import infer_signature

    with tracking.step_run("train"):
        features, target = read_split(args.prep_data, "train")
        hyper = {name: getattr(args, name) for name in HYPERPARAMETERS}
        tracking.log_params(
            {**hyper, "random_state": args.random_state, "model": "HistGradientBoostingRegressor"}
        )
        model = build_model(**hyper, random_state=args.random_state)
        val_features, val_target = read_split(args.prep_data, "val")
        started = time.perf_counter()
        if args.log_every > 0:
            fit_in_stages(model, features, target, val_features, val_target, args.log_every)
        else:
            model.fit(features, target)
        train_seconds = time.perf_counter() - started

        metrics = regression_metrics(val_target, model.predict(val_features))
        tracking.log_metrics(metrics, prefix="val_", step=model.n_iter_)
        tracking.log_metrics({"train_seconds": train_seconds, "train_rows": len(features)})
        print(f"train: {len(features)} rows in {train_seconds:.1f}s, val r2 {metrics['r2']:.4f}")

        example = features.head(5)
        with warnings.catch_warnings():  # integer columns are meant to be `long`: scoring must send integers
            warnings.filterwarnings("ignore", message=".*integer column")
            signature = infer_signature(example, model.predict(example))
        out = Path(args.model_output)
        empty_folder(out)
        mlflow.sklearn.save_model(
            model,
            out,
            signature=signature,
            input_example=example,
            pip_requirements=pip_requirements(),
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
        return metrics
