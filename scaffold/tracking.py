"""The local MLflow store: one SQLite file and an artifact folder under mlruns/, same paths everywhere."""

from __future__ import annotations

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
