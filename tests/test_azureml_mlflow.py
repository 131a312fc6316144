"""The stand-in for Azure ML's MLflow service, and experiment code run against it as Azure ML runs it.

The stand-in is the real `mlflow server` app behind a filter, in one process, that passes only the MLflow 2
API Azure ML implements (sources in scaffold/azure/mlflow_service.py). Each pipeline step runs as its own
process with the variables Azure ML sets for a job step: MLFLOW_TRACKING_URI, MLFLOW_RUN_ID (a run the
platform created), MLFLOW_EXPERIMENT_ID and MLFLOW_EXPERIMENT_NAME (listed in mlflow/mlflow#11103 from a job
in Azure ML).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from scaffold.azure.mlflow_service import ALLOWED, API, allowed, serving

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
TAXI = SRC / "nyc_taxi"
MODEL = "nyc_taxi_fare"


@pytest.fixture(scope="module")
def service_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("azureml-mlflow")


@pytest.fixture(scope="module")
def service(service_dir):
    with serving(service_dir) as uri:
        yield uri


def refused(service_dir: Path) -> list[str]:
    """The requests the stand-in has refused so far, as `METHOD path`."""
    log = service_dir / "refused.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture
def tracking(service, monkeypatch):
    """This process's MLflow pointed at the stand-in (and put back afterwards)."""
    import mlflow

    before = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    for name in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", service)
    # mlflow.set_registry_uri also writes MLFLOW_REGISTRY_URI into os.environ, and so does putting the old
    # value back: set through monkeypatch, the variable is removed again after the test, so later
    # subprocesses of this session do not register into ./mlflow.db.
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", service)
    mlflow.set_tracking_uri(service)
    mlflow.set_registry_uri(service)
    yield service
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(before[0])
    mlflow.set_registry_uri(before[1])


def request(uri: str, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(uri + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_allowed_routes_are_real_mlflow_routes_and_mlflow3_routes_are_not_allowed():
    from mlflow.server.handlers import get_endpoints

    served = {(method, path) for path, _, methods in get_endpoints() for method in methods}
    for route, methods in ALLOWED.items():
        for method in methods:
            assert (method, API + route) in served, f"{method} {route} is no route of mlflow server"
    refused = [
        ("POST", "/api/2.0/mlflow/logged-models"),
        ("POST", "/api/2.0/mlflow/logged-models/search"),
        ("POST", "/api/2.0/mlflow/runs/outputs"),
        ("POST", "/api/2.0/mlflow/runs/log-model"),
        ("POST", "/api/2.0/mlflow/registered-models/rename"),
        ("POST", "/api/2.0/mlflow/experiments/update"),
        ("POST", "/api/3.0/mlflow/traces"),
        ("GET", "/api/2.0/mlflow/webhooks"),
        ("POST", "/api/2.0/mlflow/runs/get"),  # an allowed route with the wrong method
        ("DELETE", "/api/2.0/mlflow-artifacts/artifacts/1/run/artifacts/x"),
    ]
    assert [route for route in refused if allowed(*route)] == []
    assert allowed("PUT", "/api/2.0/mlflow-artifacts/artifacts/1/run/artifacts/model/MLmodel")


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_server_is_one_process_started_as_mlflow_3_15_starts_it(service):
    import mlflow

    # scaffold/azure/mlflow_app.py hands MLflow's app the variables `mlflow server` 3.15 hands it
    # (mlflow/server/__init__.py _run_server): check it again when upgrading MLflow.
    assert mlflow.__version__.startswith("3.15."), mlflow.__version__
    servers = [
        pid
        for pid in _children(os.getpid())
        if b"scaffold.azure.mlflow_app" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    assert len(servers) == 1
    assert _children(servers[0]) == []  # no second server process, no job runner


def test_refuses_logged_models_like_azure_ml(service, service_dir, tracking):
    import mlflow
    from mlflow.exceptions import MlflowException
    from sklearn.dummy import DummyRegressor

    status, body = request(service, "POST", "/api/2.0/mlflow/logged-models", {"experiment_id": "0"})
    assert (status, body) == (404, b"")  # what Azure ML answers (Azure/azure-sdk-for-python#44896)
    assert request(service, "POST", "/api/3.0/mlflow/traces/search", {})[0] == 404
    assert refused(service_dir)[-2:] == [
        "POST /api/2.0/mlflow/logged-models",
        "POST /api/3.0/mlflow/traces/search",
    ]

    mlflow.set_experiment("refused")
    with mlflow.start_run():
        with pytest.raises(MlflowException, match=r"logged-models failed with error code 404"):
            mlflow.sklearn.log_model(DummyRegressor().fit([[0]], [0]), name="model")
    with pytest.raises(MlflowException, match="404"):
        mlflow.MlflowClient().search_logged_models(experiment_ids=["0"])


def send(uri: str, method: str, path: str, body=None, **headers: str) -> tuple[int, bytes]:
    """One request as http.client sends it: an iterable body goes chunked, `Host` can be any name."""
    connection = http.client.HTTPConnection(urlsplit(uri).hostname, urlsplit(uri).port, timeout=60)
    try:
        chunked = body is not None and not isinstance(body, bytes)
        connection.request(method, path, body=body, headers=headers, encode_chunked=chunked)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_answers_the_host_names_it_is_reached_by_and_no_other(service):
    """MLflow's own check (`mlflow server --allowed-hosts`), set to the address it listens on and the name a
    container calls the host by: not "*", and not MLflow's defaults, which let localhost in."""
    port = urlsplit(service).port
    path = API + "experiments/get-by-name?experiment_name=Default"
    names = [f"127.0.0.1:{port}", f"host.docker.internal:{port}", f"localhost:{port}"]
    names += ["host.docker.internal:1", f"rebound.example:{port}", f"172.17.0.1:{port}"]
    statuses = {name: send(service, "GET", path, Host=name)[0] for name in names}
    assert statuses == {name: 200 if i < 2 else 403 for i, name in enumerate(names)}


def test_a_chunked_upload_is_stored_and_a_chunked_refused_request_is_404(service, service_dir):
    artifact = "/api/2.0/mlflow-artifacts/artifacts/0/chunked/notes.txt"
    assert send(service, "PUT", artifact, iter([b"in ", b"two chunks"])) == (200, b"")
    assert send(service, "GET", artifact) == (200, b"in two chunks")
    assert send(service, "POST", API + "logged-models", iter([b"{", b"}"])) == (404, b"")
    assert refused(service_dir)[-1] == "POST /api/2.0/mlflow/logged-models"


def test_serves_runs_metrics_artifacts_and_the_registry(service, tracking, tmp_path):
    import mlflow
    from mlflow.entities import Metric, Param
    from sklearn.dummy import DummyRegressor

    client = mlflow.MlflowClient()
    mlflow.set_experiment("served")
    with mlflow.start_run() as run:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_metric("loss", 2.0, step=1)
        mlflow.log_metric("loss", 1.0, step=2)
        client.log_batch(run.info.run_id, metrics=[Metric("r2", 0.9, 0, 1)], params=[Param("beta", "x")])
        mlflow.set_tag("step", "demo")
        mlflow.log_text("hello", "notes/readme.txt")
        model_dir = tmp_path / "model"
        mlflow.sklearn.save_model(
            DummyRegressor(constant=3.0, strategy="constant").fit([[0]], [0]), model_dir
        )
        mlflow.log_artifacts(str(model_dir), "model")
        version = mlflow.register_model(f"runs:/{run.info.run_id}/model", "served_model").version

    got = client.get_run(run.info.run_id)
    assert got.data.params == {"alpha": "0.5", "beta": "x"} and got.data.metrics["r2"] == 0.9
    assert [m.value for m in client.get_metric_history(run.info.run_id, "loss")] == [2.0, 1.0]
    assert len(mlflow.search_runs(filter_string="tags.step = 'demo'")) == 1
    # the run's own artifact store; MlflowClient.list_artifacts(run_id, path) would also search logged models
    listed = mlflow.artifacts.list_artifacts(artifact_uri=got.info.artifact_uri + "/notes")
    assert [f.path for f in listed] == ["notes/readme.txt"]

    client.set_model_version_tag("served_model", version, "stage", "test")
    [found] = client.search_model_versions("name='served_model'")
    assert (found.version, found.run_id, found.tags) == (version, run.info.run_id, {"stage": "test"})
    assert client.get_model_version("served_model", version).status == "READY"
    assert mlflow.pyfunc.load_model(f"models:/served_model/{version}").predict([[5]])[0] == 3.0


def step_env(service: str, experiment: str, run_id: str, experiment_id: str) -> dict[str, str]:
    """The environment of one Azure ML job step, as far as our code reads it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SCAFFOLD_"))}
    return {
        **env,
        "PYTHONPATH": str(SRC),  # in Azure ML, common/ sits in the snapshot next to main.py
        "PYTHONDONTWRITEBYTECODE": "1",
        "MLFLOW_TRACKING_URI": service,
        "MLFLOW_RUN_ID": run_id,
        "MLFLOW_EXPERIMENT_ID": experiment_id,
        "MLFLOW_EXPERIMENT_NAME": experiment,
    }


def run_pipeline(service: str, out: Path, raw: Path, train_args: list[str]) -> dict[str, dict]:
    """prep, train, evaluate, register as azure-ml-job.yaml runs them: one process and one run per step."""
    from mlflow import MlflowClient

    client = MlflowClient(service, service)
    experiment = client.get_experiment_by_name("nyc_taxi")
    experiment_id = experiment.experiment_id if experiment else client.create_experiment("nyc_taxi")
    prep, model, evaluation, registration = (
        out / name for name in ("prep", "model", "evaluation", "registration")
    )
    steps = {
        "prep": ["--raw_data", raw, "--prep_data", prep, "--seed", "42"],
        "train": ["--prep_data", prep, "--model_output", model, *train_args],
        "evaluate": ["--prep_data", prep, "--model_input", model, "--model_name", MODEL]
        + ["--min_improvement", "0.0", "--evaluation_output", evaluation],
        "register": ["--model_input", model, "--evaluation_output", evaluation, "--model_name", MODEL]
        + ["--registration_output", registration],
    }
    run_ids = {}
    for step, args in steps.items():
        run_ids[step] = client.create_run(experiment_id, run_name=step).info.run_id  # the platform's run
        done = subprocess.run(
            [sys.executable, "main.py", step, *map(str, args)],
            cwd=TAXI,
            env=step_env(service, "nyc_taxi", run_ids[step], experiment_id),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{step} failed:\n{done.stderr[-3000:]}"
        assert client.get_run(run_ids[step]).data.tags["step"] == step  # logged to the platform's run
    return {
        "runs": run_ids,
        "evaluation": json.loads((evaluation / "evaluation.json").read_text()),
        "registration": json.loads((registration / "registration.json").read_text()),
    }


def test_taxi_pipeline_steps_register_and_find_the_champion(
    service, service_dir, tracking, tmp_path, monkeypatch
):
    import mlflow
    import pandas as pd

    monkeypatch.syspath_prepend(str(SRC))
    from common.registry import latest_version, resolve_version

    refused_before = len(refused(service_dir))
    raw = tmp_path / "raw" / "trips.parquet"
    generate = [sys.executable, "-m", "common.generator", "--rows", "2000", "--seed", "7", "--out", str(raw)]
    subprocess.run(generate + ["--dirty-fraction", "0.01"], env=step_env(service, "", "", ""), check=True)

    first = run_pipeline(service, tmp_path / "first", raw, ["--max_iter", "30"])
    assert first["evaluation"]["deploy"] and first["evaluation"]["champion_version"] is None
    assert first["registration"] == {"registered": True, "model_name": MODEL, "version": "1"}

    client = mlflow.MlflowClient()
    [version] = client.search_model_versions(f"name='{MODEL}'")
    assert version.run_id == first["runs"]["register"]
    assert version.tags["currency"] == "USD" and float(version.tags["test_r2"]) > 0.8
    assert client.get_model_version(MODEL, "1").status == "READY"

    # what taxi_online/local.py and taxi_batch/local.py do with a registered model
    assert resolve_version(MODEL, None) == "1" and latest_version(MODEL).version == "1"
    folder = mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/{MODEL}/1", dst_path=str(tmp_path / "dl")
    )
    test = pd.read_parquet(tmp_path / "first" / "prep" / "test.parquet").drop(columns="cost").head(20)
    registered = mlflow.pyfunc.load_model(folder).predict(test)
    trained = mlflow.pyfunc.load_model(str(tmp_path / "first" / "model")).predict(test)
    assert (registered == trained).all()
    assert mlflow.pyfunc.load_model(folder).metadata.signature is not None

    second = run_pipeline(service, tmp_path / "second", raw, ["--max_iter", "2", "--max_leaf_nodes", "3"])
    evaluation = second["evaluation"]
    assert evaluation["champion_version"] == "1" and evaluation["champion_test"] is not None
    assert evaluation["test"]["r2"] < evaluation["champion_test"]["r2"] and not evaluation["deploy"]
    assert second["registration"] == {"registered": False, "model_name": MODEL, "version": "1"}
    assert len(client.search_model_versions(f"name='{MODEL}'")) == 1
    # Loading a model probes MLflow 3's server-info, which the client does without (404: an older server);
    # nothing else Azure ML refuses was asked for, not even in a call whose failure MLflow swallows.
    assert set(refused(service_dir)[refused_before:]) <= {"GET /api/3.0/mlflow/server-info"}


def test_template_main_logs_to_the_platform_run(service, tmp_path):
    from mlflow import MlflowClient

    client = MlflowClient(service, service)
    experiment_id = client.create_experiment("template")
    run_id = client.create_run(experiment_id).info.run_id
    data = tmp_path / "data.csv"
    data.write_text("value,other\n1,2\n3,4\n")
    done = subprocess.run(
        [sys.executable, "main.py", "--data", str(data)],
        cwd=REPO / "experiment_template",
        env=step_env(service, "template", run_id, experiment_id),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run = client.get_run(run_id)
    assert run.data.metrics == {"value_mean": 2.0} and run.data.params == {"rows": "2"}
    assert [f.path for f in client.list_artifacts(run_id)] == ["summary.json"]


def test_a_taken_port_is_one_line(tmp_path):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        done = subprocess.run(
            [sys.executable, "-m", "scaffold.azure.mlflow_service", "--port", str(taken.getsockname()[1])]
            + [str(tmp_path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: ") and "in use" in done.stderr and done.stderr.count("\n") == 1
