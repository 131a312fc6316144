"""Fixtures: a tiny taxi fare model saved as an MLflow model with a signature, and the real inference server.

The experiment folder and src/ are put on sys.path, so the tests also run from the source tree.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

EXPERIMENT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(EXPERIMENT_DIR))
sys.path.insert(1, str(EXPERIMENT_DIR.parent))  # `import common` when run from the source tree

from common.testing import job_snapshot  # noqa: E402,F401 - main.py as the job runs it


def train_tiny_model(rows: int = 600, seed: int = 3):
    """A small fare model on generated NYC trips, and the feature frame it was trained on."""
    from common.cities import NYC
    from common.generator import generate_frame
    from common.model import build_model
    from common.schema import FEATURES, TARGET

    frame = generate_frame(NYC, rows, seed=seed)
    model = build_model(max_iter=15, max_leaf_nodes=15, min_samples_leaf=5)
    model.fit(frame[FEATURES], frame[TARGET])
    return model, frame[FEATURES]


def save_tiny_model(path: Path) -> tuple[Path, object]:
    """Save the tiny model as train does: MLflow sklearn flavor, signature and input example."""
    import mlflow.sklearn
    from mlflow.models import infer_signature

    from common.model import SKOPS_TRUSTED_TYPES

    model, features = train_tiny_model()
    example = features.head(5)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*integer column")
        signature = infer_signature(example, model.predict(example))
    mlflow.sklearn.save_model(
        model, path, signature=signature, input_example=example, skops_trusted_types=SKOPS_TRUSTED_TYPES
    )
    return path, features


@pytest.fixture(scope="session")
def train_tiny():
    """The training helper, for tests that need a model saved differently."""
    return train_tiny_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """(model folder, feature frame): an MLflow model folder as Azure ML would mount it, one level down."""
    root = tmp_path_factory.mktemp("azureml-models")
    path, features = save_tiny_model(root / "nyc_taxi_fare" / "1")
    return root, path, features


@pytest.fixture(scope="session")
def inference_server(tiny_model, tmp_path_factory):
    """azmlinfsrv serving score.py with the tiny model on a free port: yields the port."""
    import server

    root, _, _ = tiny_model
    port = server.free_port()
    log_path = tmp_path_factory.mktemp("server") / "azmlinfsrv.log"
    with open(log_path, "wb") as log:
        process = server.start(root, port, log=log)
        try:
            server.wait_healthy(port, process, timeout=120, log_path=log_path)
            yield port
        finally:
            server.stop(process)
