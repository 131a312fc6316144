"""Pytest fixtures shared by the experiments' tests (imported by their conftest.py)."""

from __future__ import annotations

import shutil

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


@pytest.fixture
def job_snapshot(request, tmp_path):
    """The experiment folder as a job runs it in Azure ML: a copy with common/ beside its files (no tests)."""
    exp_dir = request.path.resolve().parents[1]
    root = tmp_path / exp_dir.name
    skip = shutil.ignore_patterns("tests", "__pycache__", ".pytest_cache")
    shutil.copytree(exp_dir, root, ignore=skip)
    shutil.copytree(exp_dir.parent / "common", root / "common", ignore=skip)
    return root
