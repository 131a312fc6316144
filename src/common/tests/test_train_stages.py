"""Staged training (for sweep early termination) logs intermediate val_r2 and gives the same model."""

from __future__ import annotations

import mlflow
import numpy as np

from common.cities import NYC
from common.generator import generate_frame
from common.model import build_model
from common.schema import FEATURES
from common.steps.train import fit_in_stages


def test_fit_in_stages_matches_one_fit_and_logs_steps(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment(experiment_id=mlflow.create_experiment("s", (tmp_path / "a").as_uri()))
    frame = generate_frame(NYC, 2000, seed=1)
    features, target = frame[FEATURES], frame["cost"]
    staged = build_model(max_iter=45)
    with mlflow.start_run() as run:
        fit_in_stages(staged, features, target, features, target, every=20)
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "val_r2")
    assert [metric.step for metric in history] == [20, 40]
    once = build_model(max_iter=45).fit(features, target)
    assert staged.n_iter_ == 45 and np.array_equal(staged.predict(features), once.predict(features))
