"""Pytest fixtures shared by the experiments' tests (imported by their conftest.py)."""

from __future__ import annotations

import pytest


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
