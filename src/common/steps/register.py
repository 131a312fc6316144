"""register: register the challenger only when the deploy flag says so, with signature and input example.

The signature makes MLflow scoring reject missing columns and reorder named columns to the training order.
The registry is whatever MLflow points at: the local store locally, the workspace registry in Azure ML.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import tracking
from common.errors import DataError
from common.experiment import Experiment
from common.model import SKOPS_TRUSTED_TYPES
from common.steps.io import DEPLOY_FLAG, EVALUATION, REGISTRATION, read_json, write_json


def add_arguments(parser: argparse.ArgumentParser, experiment: Experiment) -> None:
    """Options of the register step."""
    parser.add_argument("--model_input", required=True, help="MLflow model folder written by train")
    parser.add_argument("--evaluation_output", required=True, help="folder written by evaluate")
    parser.add_argument("--model_name", default=experiment.model_name)
    parser.add_argument("--registration_output", default=None, help="optional folder for registration.json")


def read_flag(evaluation_dir: Path) -> bool:
    """The deploy flag written by evaluate."""
    path = evaluation_dir / DEPLOY_FLAG
    if not path.exists():
        raise DataError(f"{path}: missing; run the evaluate step first")
    value = path.read_text().strip()
    if value not in ("0", "1"):
        raise DataError(f"{path}: expected 0 or 1, found {value!r}")
    return value == "1"


def run(args: argparse.Namespace, experiment: Experiment) -> dict:
    """Register (or not) and return what registration.json holds."""
    import mlflow
    from mlflow.models import Model

    evaluation_dir = Path(args.evaluation_output)
    evaluation = read_json(evaluation_dir / EVALUATION)
    with tracking.step_run("register"):
        if not read_flag(evaluation_dir):
            result = {
                "registered": False,
                "model_name": args.model_name,
                "version": evaluation["champion_version"],
            }
            champion = f"{args.model_name} v{evaluation['champion_version']}"
            print(f"register: not registered; champion {champion} stays")
        else:
            saved = Model.load(args.model_input)
            model = mlflow.sklearn.load_model(args.model_input)
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                signature=saved.signature,
                input_example=saved.load_input_example(args.model_input),
                registered_model_name=args.model_name,
                skops_trusted_types=SKOPS_TRUSTED_TYPES,
            )
            version = str(info.registered_model_version)
            client = mlflow.MlflowClient()
            for key, value in evaluation["test"].items():
                client.set_model_version_tag(args.model_name, version, f"test_{key}", f"{value:.6g}")
            client.set_model_version_tag(args.model_name, version, "currency", experiment.city.currency)
            result = {"registered": True, "model_name": args.model_name, "version": version}
            print(f"register: registered {args.model_name} version {version}")
        tracking.log_metrics(evaluation["test"], prefix="test_")
        mlflow.set_tags({"registered": str(result["registered"]), "model_name": args.model_name})
        if args.registration_output:
            write_json(Path(args.registration_output) / REGISTRATION, result)
        return result
