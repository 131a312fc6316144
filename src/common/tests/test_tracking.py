"""use_local_store: the experiment it creates opens on MLflow's runs table (a real SQLite store)."""

import os
import subprocess
import sys
from pathlib import Path

import mlflow

SRC = Path(__file__).resolve().parents[2]


def test_use_local_store_creates_a_classical_model_experiment(tmp_path):
    # A fresh interpreter: use_local_store reads MLFLOW_TRACKING_URI from the environment, as in a plain run.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    code = f"from common import tracking; tracking.use_local_store({str(tmp_path)!r}, 'fares')"
    subprocess.run([sys.executable, "-c", code], env={**env, "PYTHONPATH": str(SRC)}, check=True)
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("fares")
    assert experiment.tags.get("mlflow.experimentKind") == "custom_model_development"
