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


def runs_links(repo: Repo, port: int, experiment: str = "") -> list[str]:
    """`name: link to its runs` for `experiment`, or for each experiment with runs in the local store."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri(repo), tracking_uri(repo))
    if experiment:
        found = client.get_experiment_by_name(experiment)
        experiments = [found] if found else []
    else:
        experiments = [
            e for e in client.search_experiments() if client.search_runs([e.experiment_id], max_results=1)
        ]
    # mlflow 3.15's UI picks its GenAI or "Model training" pages from the workflowType in the link (else the
    # browser's last choice, GenAI at first), whatever the experiment's mlflow.experimentKind tag says.
    root = f"http://127.0.0.1:{port}/#/experiments"
    return [f"{e.name}: {root}/{e.experiment_id}/runs?workflowType=machine_learning" for e in experiments]


def ui(repo: Repo, port: int, experiment: str = "") -> int:
    """Serve the MLflow UI on 127.0.0.1 over the local store (replaces this process), printing the link to
    each experiment's runs (or EXP's): MLflow's front page is not where a run is."""
    repo.mlruns.mkdir(exist_ok=True)
    links = runs_links(repo, port, experiment)
    mlflow = os.path.join(os.path.dirname(sys.executable), "mlflow")
    argv = [
        mlflow, "ui",
        "--backend-store-uri", tracking_uri(repo),
        "--default-artifact-root", artifact_root(repo),
        "--host", "127.0.0.1",
        "--port", str(port),
    ]  # fmt: skip
    print(f"MLflow UI: http://127.0.0.1:{port}", file=sys.stderr)
    for link in links:
        print(f"  runs of {link}", file=sys.stderr)
    if not links:
        print(f"  no runs yet: make local EXP={experiment or '<name>'} records one", file=sys.stderr)
    os.execv(mlflow, argv)
    return 0
