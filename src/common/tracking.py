"""MLflow helpers that behave the same locally (SQLite store) and in Azure ML (the job's own run).

Code never sets MLFLOW_TRACKING_URI when it is already set: in Azure ML the platform sets it, and
locally the driver points it at the repository's store. `use_local_store` only fills it in for plain runs.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

import mlflow

IMAGE_VARIABLE = "SCAFFOLD_IMAGE"
# MLflow 3's experiment type "Machine learning" (not "GenAI apps & agents"), as its UI's type picker sets it.
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}


def use_local_store(data_dir: str | Path, experiment: str) -> str:
    """Point MLflow at `<data_dir>/mlruns` unless a tracking URI is set, and select the experiment."""
    data_dir = Path(data_dir).resolve()
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        store = data_dir / "mlruns"
        store.mkdir(parents=True, exist_ok=True)
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{store / 'mlflow.db'}"
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or experiment
    if mlflow.get_experiment_by_name(name) is None:
        artifacts = data_dir / "mlruns" / "artifacts"
        mlflow.create_experiment(name, artifact_location=artifacts.as_uri(), tags=EXPERIMENT_KIND)
    mlflow.set_experiment(name)
    return name


@contextmanager
def step_run(step: str, tags: Mapping[str, str] | None = None) -> Iterator[mlflow.ActiveRun]:
    """The run a step logs to: nested under local.py's parent run, or the Azure ML job's run.

    Azure ML hands the job's run id in MLFLOW_RUN_ID; start_run then resumes it, and we leave its name alone.
    """
    in_job = bool(os.environ.get("MLFLOW_RUN_ID"))
    nested = mlflow.active_run() is not None
    with mlflow.start_run(run_name=None if in_job else step, nested=nested) as run:
        mlflow.set_tags({"step": step, **run_tags(), **(tags or {})})
        yield run


def run_tags() -> dict[str, str]:
    """Tags worth having on every run: the image the code ran in, when known."""
    image = os.environ.get(IMAGE_VARIABLE)
    return {"scaffold.image": image} if image else {}


def log_params(params: Mapping[str, object]) -> None:
    """Log parameters, skipping None values."""
    mlflow.log_params({key: value for key, value in params.items() if value is not None})


def log_metrics(metrics: Mapping[str, float], prefix: str = "", step: int | None = None) -> None:
    """Log metrics, each name prefixed (e.g. `test_`), optionally at a training step."""
    mlflow.log_metrics({f"{prefix}{key}": float(value) for key, value in metrics.items()}, step=step)


def log_figure(figure, name: str) -> None:
    """Log a matplotlib figure as an artifact and free it."""
    import matplotlib.pyplot as plt

    mlflow.log_figure(figure, name)
    plt.close(figure)
