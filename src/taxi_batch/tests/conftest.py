"""Fixtures: a tiny taxi fare model saved as an MLflow model with a signature, and generated trip files."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

EXPERIMENT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(EXPERIMENT_DIR))
sys.path.insert(1, str(EXPERIMENT_DIR.parent))  # `import common` when run from the source tree

from common.testing import job_snapshot  # noqa: E402,F401 - main.py as the job runs it


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """(model folder, fitted estimator): saved as the train step saves it, one level below the root."""
    import mlflow.sklearn
    from mlflow.models import infer_signature

    from common.cities import NYC
    from common.generator import generate_frame
    from common.model import SKOPS_TRUSTED_TYPES, build_model
    from common.schema import FEATURES, TARGET

    frame = generate_frame(NYC, 600, seed=3)
    model = build_model(max_iter=15, max_leaf_nodes=15, min_samples_leaf=5).fit(
        frame[FEATURES], frame[TARGET]
    )
    example = frame[FEATURES].head(5)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*integer column")
        signature = infer_signature(example, model.predict(example))
    root = tmp_path_factory.mktemp("azureml-models")
    mlflow.sklearn.save_model(
        model,
        root / "nyc_taxi_fare",
        signature=signature,
        input_example=example,
        skops_trusted_types=SKOPS_TRUSTED_TYPES,
    )
    return root, model
