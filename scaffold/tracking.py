"""The local MLflow store: one SQLite file and an artifact folder under mlruns/, same paths everywhere."""

from __future__ import annotations

import os
import sys

from scaffold.paths import Repo


def tracking_uri(repo: Repo) -> str:
    return f"sqlite:///{repo.mlruns / 'mlflow.db'}"


def artifact_root(repo: Repo) -> str:
    return str(repo.mlruns / "artifacts")


def run_env(repo: Repo, experiment: str) -> dict[str, str]:
    """Variables that send a local run's tracking to the repository's store."""
    repo.mlruns.mkdir(exist_ok=True)
    return {
        "MLFLOW_TRACKING_URI": tracking_uri(repo),
        "MLFLOW_REGISTRY_URI": tracking_uri(repo),
        "MLFLOW_EXPERIMENT_NAME": experiment,
        "SCAFFOLD_ARTIFACT_ROOT": artifact_root(repo),
    }


def ui(repo: Repo, port: int) -> int:
    """Serve the MLflow UI on 127.0.0.1 over the local store (replaces this process)."""
    repo.mlruns.mkdir(exist_ok=True)
    mlflow = os.path.join(os.path.dirname(sys.executable), "mlflow")
    argv = [
        mlflow, "ui",
        "--backend-store-uri", tracking_uri(repo),
        "--default-artifact-root", artifact_root(repo),
        "--host", "127.0.0.1",
        "--port", str(port),
    ]  # fmt: skip
    print(f"MLflow UI: http://127.0.0.1:{port}", file=sys.stderr)
    os.execv(mlflow, argv)
    return 0
