"""Make the experiment folder importable and give every test its own MLflow store under tmp_path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

EXPERIMENT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(EXPERIMENT_DIR))
sys.path.insert(1, str(EXPERIMENT_DIR.parent))  # `import common` when run from the source tree


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch):
    """A private SQLite tracking store and registry, with artifacts under tmp_path."""
    import mlflow

    for name in ("MLFLOW_RUN_ID", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):
        monkeypatch.delenv(name, raising=False)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.create_experiment("test", artifact_location=(tmp_path / "artifacts").as_uri())
    mlflow.set_experiment("test")
    yield uri
    while mlflow.active_run():
        mlflow.end_run()
