"""main.py up to the SDK boundary: the YAMLs as loaded, blue/green order, smoke test, traffic. No Azure."""

from __future__ import annotations

import json
import shutil
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
    """Records what main.py hands to MLClient; never pretends more than the SDK's return values."""

    def __init__(self, model_dir, traffic=None, answer=None):
        from azure.core.exceptions import ResourceNotFoundError

        self.calls = []
        self.traffic = traffic
        outer = self

        class Endpoints:
            def get(self, name):
                outer.calls.append(("endpoints.get", name))
                if outer.traffic is None:
                    raise ResourceNotFoundError("endpoint not found")
                return SimpleNamespace(
                    name=name, traffic=dict(outer.traffic), scoring_uri=f"https://{name}/score"
                )

            def begin_create_or_update(self, endpoint):
                outer.calls.append(("endpoints.create_or_update", endpoint.name, dict(endpoint.traffic)))
                outer.traffic = dict(endpoint.traffic)
                return Poller(endpoint)

            def invoke(self, endpoint_name, deployment_name, request_file):
                request = json.loads(open(request_file).read())
                outer.calls.append(("endpoints.invoke", endpoint_name, deployment_name, request))
                if answer is not None:
                    return answer(request)
                return json.dumps([12.5] * len(request["input_data"]["data"]))

        class Deployments:
            def begin_create_or_update(self, deployment):
                outer.calls.append(("deployments.create_or_update", deployment.name, deployment.model))
                outer.deployment = deployment
                return Poller(deployment)

            def begin_delete(self, name, endpoint_name):
                outer.calls.append(("deployments.delete", name, endpoint_name))
                return Poller(None)

        class Models:
            def get(self, name, label=None, version=None):
                outer.calls.append(("models.get", name, label))
                return SimpleNamespace(name=name, version="3")

            def download(self, name, version, download_path):
                outer.calls.append(("models.download", name, version))
                shutil.copytree(model_dir, f"{download_path}/{name}")

        self.online_endpoints, self.online_deployments, self.models = Endpoints(), Deployments(), Models()

    def names(self):
        return [call[0] for call in self.calls]


@pytest.fixture(autouse=True)
def in_the_job(job_snapshot, monkeypatch):
    """main.py as `make job` runs it in Azure ML: from the staged snapshot, with common/ beside it."""
    import main

    monkeypatch.setattr(main, "HERE", job_snapshot)


def test_new_endpoint_gets_blue_after_a_smoke_test(tiny_model, capsys):
    import main

    _, model_dir, features = tiny_model
    client = FakeClient(model_dir)
    assert main.main([], client=client) == 0
    assert client.names() == [
        "endpoints.get",
        "models.get",
        "endpoints.create_or_update",
        "deployments.create_or_update",
        "models.download",
        "endpoints.invoke",
        "endpoints.create_or_update",
        "endpoints.get",
    ]
    assert client.calls[2] == ("endpoints.create_or_update", "taxi-fare-online", {})
    assert client.calls[3] == ("deployments.create_or_update", "blue", "azureml:nyc_taxi_fare:3")
    request = client.calls[5][3]["input_data"]
    assert client.calls[5][2] == "blue" and request["columns"] == list(features.columns)
    assert client.calls[6] == ("endpoints.create_or_update", "taxi-fare-online", {"blue": 100})
    deployment = client.deployment
    assert deployment.code_configuration.scoring_script == "score.py"
    assert deployment.environment.build.path.endswith("docker")
    assert "blue live at https://taxi-fare-online/score" in capsys.readouterr().out


def test_live_blue_means_green_then_traffic_moves_and_blue_is_deleted(tiny_model):
    import main

    _, model_dir, _ = tiny_model
    client = FakeClient(model_dir, traffic={"blue": 100})
    argv = ["--model", "nyc_taxi_fare:7", "--endpoint-name", "my-taxi", "--delete-old"]
    assert main.main(argv, client=client) == 0
    assert "models.get" not in client.names()
    assert ("endpoints.create_or_update", "my-taxi", {"blue": 100}) in client.calls
    assert ("deployments.create_or_update", "green", "azureml:nyc_taxi_fare:7") in client.calls
    assert client.traffic == {"blue": 0, "green": 100}
    assert client.calls[-2] == ("deployments.delete", "blue", "my-taxi")


def test_failed_smoke_test_leaves_traffic_alone(tiny_model, capsys):
    import main

    _, model_dir, _ = tiny_model
    client = FakeClient(model_dir, traffic={"green": 100}, answer=lambda request: '{"message": "boom"}')
    assert main.main([], client=client) == 1
    assert ("deployments.create_or_update", "blue", "azureml:nyc_taxi_fare:3") in client.calls
    updates = [call for call in client.calls if call[0] == "endpoints.create_or_update"]
    assert updates == [("endpoints.create_or_update", "taxi-fare-online", {"green": 100})]
    err = capsys.readouterr().err
    assert (
        err.startswith("error: smoke test of blue failed: expected 2 predictions")
        and "traffic unchanged" in err
    )


def test_dry_run_prints_the_yamls_offline(monkeypatch, capsys):
    import main

    def no_network(*args, **kwargs):
        raise AssertionError("--dry-run must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    assert main.main(["--dry-run", "--model", "nyc_taxi_fare:2", "--instance-count", "2"]) == 0
    out = capsys.readouterr().out
    assert "auth_mode: key" in out and "name: taxi-fare-online" in out
    assert "model: azureml:nyc_taxi_fare:2" in out and "instance_count: 2" in out
    assert "scoring_script: score.py" in out


def test_bad_yaml_is_one_line(tmp_path, capsys):
    import main

    bad = tmp_path / "deployment.yml"
    (tmp_path / "common").mkdir()  # a snapshot: nothing to stage
    bad.write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json\nname: [x\n"
    )
    assert main.main(["--dry-run", "--deployment-file", str(bad)]) == 2
    assert capsys.readouterr().err.startswith("error: cannot load the endpoint or deployment YAML: ")


def test_model_references():
    from common.azure_deploy import parse_model

    assert parse_model("azureml:nyc_taxi_fare:3") == ("nyc_taxi_fare", "3", None)
    assert parse_model("nyc_taxi_fare@latest") == ("nyc_taxi_fare", None, "latest")
    assert parse_model("nyc_taxi_fare") == ("nyc_taxi_fare", None, "latest")
    with pytest.raises(ValueError):
        parse_model("a b")
