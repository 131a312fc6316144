"""`mlflow-ui`: the MLflow UI for local runs on 127.0.0.1."""

from __future__ import annotations

from scaffold import runner
from scaffold.config import repo_and_config


def run(args) -> int:
    from scaffold import containers, tracking

    repo, _ = repo_and_config()
    containers.check_port_free(runner.check_port(args.port))
    return tracking.ui(repo, args.port, args.exp)
