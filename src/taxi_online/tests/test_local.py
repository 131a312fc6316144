"""local.py: the registered model served by the real inference server, and the one-line error without one."""

from __future__ import annotations

import warnings

import pytest
from server import free_port

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """A private SQLite store and registry under tmp_path."""
    import mlflow

    for name in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "SCAFFOLD_PORT"):
        monkeypatch.delenv(name, raising=False)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment(experiment_id=mlflow.create_experiment("t", (tmp_path / "artifacts").as_uri()))
    return uri


def register(train_tiny, name: str = "nyc_taxi_fare") -> str:
    import mlflow
    from mlflow.models import infer_signature

    from common.model import SKOPS_TRUSTED_TYPES

    model, features = train_tiny(rows=300)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*integer column")
        signature = infer_signature(features.head(5), model.predict(features.head(5)))
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            input_example=features.head(5),
            registered_model_name=name,
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
    return str(info.registered_model_version)


def test_no_registered_model_is_one_line(registry, capsys):
    import local

    assert local.main(["--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: no registered model nyc_taxi_fare: run make local EXP=nyc_taxi first"


def test_serves_the_latest_version_and_prints_predictions(registry, train_tiny, capsys, tmp_path):
    import local

    register(train_tiny)
    register(train_tiny)
    assert local.main(["--port", str(free_port()), "--rows", "2"]) == 0
    out = capsys.readouterr().out
    assert "serving nyc_taxi_fare version 2 from /tmp/" in out
    assert "inference server healthy on port" in out
    predictions = [line for line in out.splitlines() if line.startswith("local: predictions: [")]
    assert len(predictions) == 1 and predictions[0].count(",") == 1


def test_unknown_version_is_named(registry, train_tiny):
    import local

    register(train_tiny)
    with pytest.raises(SystemExit, match=r"nyc_taxi_fare has no version 7 \(registered: 1\)"):
        local.main(["--model-version", "7"])
