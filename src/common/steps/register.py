"""register: register the challenger only when the deploy flag says so, with signature and input example.

The signature makes MLflow scoring reject missing columns and reorder named columns to the training order.
The registry is whatever MLflow points at: the local store locally, the workspace registry in Azure ML, which
implements the MLflow 2 API only (see log_and_register).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import tracking
from common.errors import DataError
from common.experiment import Experiment
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


def log_and_register(model_dir: Path, name: str) -> str:
    """Log train's MLflow model folder (signature and input example included) to this run, register it.

    Not `mlflow.sklearn.log_model(name=..., registered_model_name=...)`: with MLflow 3 that creates a logged
    model (`/api/2.0/mlflow/logged-models`), which Azure ML's MLflow service answers with 404. Logging the
    files and registering `runs:/<run id>/model` uses only the MLflow 2 API, as azureml-examples does now.
    """
    import mlflow

    if not (model_dir / "MLmodel").is_file():
        raise DataError(f"{model_dir}: no MLmodel file; run the train step first")
    mlflow.log_artifacts(str(model_dir), "model")
    run_id = mlflow.active_run().info.run_id
    return str(mlflow.register_model(f"runs:/{run_id}/model", name).version)


def run(args: argparse.Namespace, experiment: Experiment) -> dict:
    """Register (or not) and return what registration.json holds."""
    import mlflow

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
            version = log_and_register(Path(args.model_input), args.model_name)
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
