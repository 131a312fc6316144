"""main.py up to the SDK boundary with a fake client, and the offline dry run. No Azure."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest

pytestmark = pytest.mark.filterwarnings(
    "ignore:::azure", "ignore:::marshmallow", "ignore::DeprecationWarning"
)


class Poller:
    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


class FakeClient:
    def __init__(self):
        self.calls = []
        outer = self

        class Endpoints:
            def begin_create_or_update(self, endpoint):
                outer.calls.append(("endpoints.create_or_update", endpoint.name, endpoint.defaults))
                return Poller(endpoint)

            def get(self, name):
                outer.calls.append(("endpoints.get", name))
                return SimpleNamespace(name=name, defaults=SimpleNamespace(deployment_name=None))

            def invoke(self, endpoint_name, input):
                outer.calls.append(("endpoints.invoke", endpoint_name, input.type, input.path))
                return SimpleNamespace(name="job-1")

        class Deployments:
            def begin_create_or_update(self, deployment):
                outer.calls.append(("deployments.create_or_update", deployment.name, deployment.model))
                outer.deployment = deployment
                return Poller(deployment)

        class Models:
            def get(self, name, label=None):
                outer.calls.append(("models.get", name, label))
                return SimpleNamespace(version="4")

        self.batch_endpoints, self.batch_deployments, self.models = Endpoints(), Deployments(), Models()


@pytest.fixture(autouse=True)
def in_the_job(job_snapshot, monkeypatch):
    """main.py as `make job` runs it in Azure ML: from the staged snapshot, with common/ beside it."""
    import main

    monkeypatch.setattr(main, "HERE", job_snapshot)


def test_deploys_sets_default_and_invokes():
    import main

    client = FakeClient()
    assert main.main(["--invoke", "azureml:nyc_taxi_raw@latest"], client=client) == 0
    names = [c[0] for c in client.calls]
    assert names == [
        "models.get",
        "endpoints.create_or_update",
        "deployments.create_or_update",
        "endpoints.get",
        "endpoints.create_or_update",
        "endpoints.invoke",
    ]
    assert client.calls[2] == ("deployments.create_or_update", "taxi-fare-hgb", "azureml:nyc_taxi_fare:4")
    assert client.calls[4][2].deployment_name == "taxi-fare-hgb"
    assert client.calls[5] == (
        "endpoints.invoke",
        "taxi-fare-batch",
        "uri_folder",
        "azureml:nyc_taxi_raw@latest",
    )
    deployment = client.deployment
    assert deployment.mini_batch_size == 2 and deployment.output_action == "append_row"
    assert deployment.error_threshold == 2 and deployment.retry_settings.max_retries == 3
    assert deployment.code_configuration.scoring_script == "batch_driver.py"


def test_dry_run_offline(monkeypatch, capsys):
    import main

    def no_network(*args, **kwargs):
        raise AssertionError("--dry-run must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    assert main.main(["--dry-run", "--model", "nyc_taxi_fare:2", "--invoke", "data.csv"]) == 0
    out = capsys.readouterr().out
    assert "name: taxi-fare-batch" in out and "model: azureml:nyc_taxi_fare:2" in out
    assert "mini_batch_size: 2" in out and "output_action: append_row" in out
    assert "invoke taxi-fare-batch on data.csv" in out


def test_skip_deploy_needs_invoke(capsys):
    import main

    assert main.main(["--skip-deploy"]) == 2
    assert capsys.readouterr().err.strip() == "error: --skip-deploy needs --invoke DATA"
