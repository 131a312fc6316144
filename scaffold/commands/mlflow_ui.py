"""`mlflow-ui`: the MLflow UI for local runs on 127.0.0.1, printing the link to each experiment's runs (or
EXP's): MLflow's front page is not where a run is."""

from __future__ import annotations

import sys

from scaffold import experiments, runner, tracking
from scaffold.config import repo_and_config
from scaffold.paths import Repo


def runs_links(repo: Repo, port: int, experiment: str = "") -> list[str]:
    """`name: link to its runs` for `experiment`, or for each experiment with runs in the local store."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking.tracking_uri(repo), tracking.tracking_uri(repo))
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


def run(args) -> int:
    """Serve the UI over the local store in this process (MLflow's own app, as `mlflow ui` serves it, without
    its second process and GenAI job runner), until Ctrl-C."""
    from scaffold.azure import mlflow_app

    repo, _ = repo_and_config()
    if args.exp:
        experiments.require(repo, args.exp)
    listener = runner.listen(runner.check_port(args.port, free=False))
    repo.mlruns.mkdir(exist_ok=True)
    links = runs_links(repo, listener.getsockname()[1], args.exp)
    print(f"MLflow UI: http://127.0.0.1:{listener.getsockname()[1]}", file=sys.stderr)
    for link in links:
        print(f"  runs of {link}", file=sys.stderr)
    if not links:
        print(f"  no runs yet: make local EXP={args.exp or '<name>'} records one", file=sys.stderr)
    app = mlflow_app.tracking_app(tracking.tracking_uri(repo), tracking.artifact_root(repo))
    mlflow_app.run(app, listener)
    return 0
