"""The workspace side of a local job: Azure ML's MLflow service (the offline stand-in) and the runs in it.

The stand-in (scaffold/azure/mlflow_service.py) serves the repository's own store, mlruns/ (also mounted at
its own path, where `make local` experiments keep artifacts), so `make mlflow-ui` shows local jobs and a
model a local pipeline registers is the one a local deployment serves. It listens on the Docker bridge's
gateway, which containers reach as host.docker.internal and which is not on the machine's network.
"""

from __future__ import annotations

import importlib
import ipaddress
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Iterator

from scaffold import tracking
from scaffold.container_entry import EXPERIMENT_KIND
from scaffold.errors import ScaffoldError
from scaffold.paths import Repo


def bridge_gateway() -> str:
    """The default bridge's gateway (`host-gateway`): from its IPAM config, else the subnet's first address,
    which Docker gives the bridge when it picked the subnet itself."""
    found = subprocess.run(
        ["docker", "network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}"],
        capture_output=True,
        text=True,
    )
    configs = json.loads(found.stdout or "null") if found.returncode == 0 else None
    for config in configs or []:
        if config.get("Gateway"):
            return config["Gateway"]
        if config.get("Subnet"):
            return str(next(ipaddress.ip_network(config["Subnet"]).hosts()))
    problem = found.stderr.strip().splitlines()[-1:] or ["no address in its IPAM config"]
    raise ScaffoldError(f"cannot find the Docker bridge's gateway for the MLflow service: {problem[0]}")


@dataclass
class Workspace:
    uri: str  # as the driver reaches it
    container_uri: str  # as a container reaches it
    client: object  # mlflow.MlflowClient
    repo: Repo

    def experiment(self, name: str) -> str:
        """The experiment's id; created as `make local` creates it (artifacts in mlruns/, type ML)."""
        from mlflow.exceptions import MlflowException

        found = self.client.get_experiment_by_name(name)
        if found is None:
            location = f"{tracking.artifact_root(self.repo).rstrip('/')}/{name}"
            try:
                return self.client.create_experiment(name, artifact_location=location, tags=EXPERIMENT_KIND)
            except MlflowException:  # created meanwhile by another run
                found = self.client.get_experiment_by_name(name)
        return found.experiment_id

    def start_run(self, experiment_id: str, name: str, tags: dict[str, str], parent: str = "") -> str:
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

        tags = {**tags, **({MLFLOW_PARENT_RUN_ID: parent} if parent else {})}
        return self.client.create_run(experiment_id, run_name=name, tags=tags).info.run_id

    def end_run(self, run_id: str, status: str) -> None:
        """Close the run as the platform does when its step ends (FINISHED, FAILED or KILLED)."""
        self.client.set_terminated(run_id, status)

    def step_env(self, experiment: str, experiment_id: str, run_id: str) -> dict[str, str]:
        """The MLflow variables Azure ML sets in a job's container (mlflow/mlflow#11103 lists them)."""
        return {
            "MLFLOW_TRACKING_URI": self.container_uri,
            "MLFLOW_RUN_ID": run_id,
            "MLFLOW_EXPERIMENT_ID": experiment_id,
            "MLFLOW_EXPERIMENT_NAME": experiment,
            # No "View run at http://host.docker.internal..." lines: the stand-in serves no UI.
            "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
        }


@contextmanager
def workspace(repo: Repo) -> Iterator[Workspace]:
    """Start the stand-in over the repository's store for the duration of a local job."""
    from scaffold.azure.mlflow_service import serving

    host = bridge_gateway()
    repo.mlruns.mkdir(exist_ok=True)
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"  # the driver's own run bookkeeping
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"  # a model download is one line, not a bar
    with ThreadPoolExecutor(1) as importer, ExitStack() as stack:
        mlflow = importer.submit(importlib.import_module, "mlflow")  # loads while the server starts
        try:
            uri = stack.enter_context(serving(repo.mlruns, host=host))
        except RuntimeError as exc:
            raise ScaffoldError(f"the MLflow service did not start: {exc}") from None
        client = mlflow.result().MlflowClient(uri, uri)
        yield Workspace(uri, uri.replace(host, "host.docker.internal"), client, repo)
