"""evaluate: score the challenger on the test split, plot, compare with the registered champion, set the flag.

The public example always writes deploy_flag=1; here the flag is 1 only when there is no champion, the
champion cannot score today's data, or the challenger's test R2 beats the champion's by min_improvement.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import plots, tracking
from common.experiment import Experiment
from common.metrics import regression_metrics
from common.registry import latest_version, model_uri
from common.steps.io import DEPLOY_FLAG, EVALUATION, empty_folder, read_split, write_json


def add_arguments(parser: argparse.ArgumentParser, experiment: Experiment) -> None:
    """Options of the evaluate step."""
    parser.add_argument("--prep_data", required=True, help="folder written by prep")
    parser.add_argument("--model_input", required=True, help="MLflow model folder written by train")
    parser.add_argument("--model_name", default=experiment.model_name, help="registered name of the champion")
    parser.add_argument(
        "--evaluation_output", required=True, help="folder for deploy_flag and evaluation.json"
    )
    parser.add_argument(
        "--min_improvement",
        type=float,
        default=0.0,
        help="test R2 gain the challenger needs over the champion",
    )


def decide(challenger: dict[str, float], champion: dict[str, float] | None, min_improvement: float) -> bool:
    """Whether the challenger should replace the champion (higher test R2 wins; ties keep the champion)."""
    return champion is None or challenger["r2"] > champion["r2"] + min_improvement


def run(args: argparse.Namespace, experiment: Experiment) -> dict:
    """Evaluate, compare and write the decision; returns what evaluation.json holds."""
    import mlflow
    from mlflow.exceptions import MlflowException

    currency = experiment.city.currency
    with tracking.step_run("evaluate"):
        features, target = read_split(args.prep_data, "test")
        challenger = mlflow.pyfunc.load_model(args.model_input)
        predicted = challenger.predict(features)
        metrics = regression_metrics(target, predicted)
        tracking.log_metrics(metrics, prefix="test_")
        tracking.log_figure(
            plots.predicted_vs_actual(target, predicted, currency), "plots/predicted_vs_actual.png"
        )
        tracking.log_figure(plots.residuals(target, predicted, currency), "plots/residuals.png")

        champion_metrics, champion_version, note = None, None, "no registered champion"
        version = latest_version(args.model_name)
        if version is not None:
            champion_version = str(version.version)
            try:
                champion = mlflow.pyfunc.load_model(model_uri(version))
                champion_metrics = regression_metrics(target, champion.predict(features))
                tracking.log_metrics(champion_metrics, prefix="champion_test_")
                note = f"champion version {champion_version} test r2 {champion_metrics['r2']:.4f}"
            except MlflowException as exc:  # e.g. a champion trained on another schema
                note = (
                    f"champion version {champion_version} cannot score this data: {str(exc).splitlines()[0]}"
                )

        deploy = decide(metrics, champion_metrics, args.min_improvement)
        reason = f"challenger test r2 {metrics['r2']:.4f}; {note}"
        tracking.log_metrics({"deploy_flag": int(deploy)})
        mlflow.set_tag("deploy_reason", reason[:5000])
        print(f"evaluate: {'deploy' if deploy else 'keep champion'} ({reason})")

        result = {
            "model_name": args.model_name,
            "currency": currency,
            "test": metrics,
            "champion_version": champion_version,
            "champion_test": champion_metrics,
            "deploy": deploy,
            "reason": reason,
        }
        out = Path(args.evaluation_output)
        empty_folder(out)
        (out / DEPLOY_FLAG).write_text(f"{int(deploy)}\n")
        write_json(out / EVALUATION, result)
        return result
