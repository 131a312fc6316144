"""`make job EXP=taxi_online|taxi_batch XARGS=--local`: deployments emulated by scaffold/local_job/deploy.py.

Real parts only: the snapshot staged as for `make job`, the deployment YAMLs loaded with the SDK's loaders,
the deployments' images built with BASE_IMAGE, a small model trained in taxi_online's image and registered
through the offline Azure ML MLflow stand-in (the real `mlflow server`), the Azure ML inference server and
batch_driver.py in their containers. Nothing here talks to Azure.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import PYTHON, REPO

pytestmark = [
    pytest.mark.docker,
    pytest.mark.filterwarnings("ignore:::azure", "ignore:::marshmallow", "ignore::DeprecationWarning"),
]

MODEL = "nyc_taxi_fare"
REGISTER = """
import sys, mlflow
mlflow.set_experiment("nyc_taxi")
with mlflow.start_run() as run:
    mlflow.log_artifacts(sys.argv[1], "model")
mlflow.register_model(f"runs:/{run.info.run_id}/model", sys.argv[2])
"""


@pytest.fixture(scope="module")
def registry(tiny_taxi_model, tmp_path_factory):
    """The stand-in's tracking URI, with the tiny model registered as nyc_taxi_fare version 1."""
    from scaffold.azure.mlflow_service import serving

    with serving(tmp_path_factory.mktemp("azureml-mlflow")) as uri:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env["MLFLOW_TRACKING_URI"] = uri  # tracking and registry both: no MLFLOW_REGISTRY_URI from elsewhere
        model_dir = tiny_taxi_model[0] / MODEL
        subprocess.run(
            [PYTHON, "-c", REGISTER, str(model_dir), MODEL], env=env, check=True, capture_output=True
        )
        yield uri


def staged(exp: str, yaml_file: str):
    from scaffold import snapshot

    return snapshot.staged(REPO / "src" / exp, REPO / "src" / "common", force=[yaml_file, "docker"])


@pytest.fixture(scope="module")
def online_code():
    with staged("taxi_online", "azure-ml-job.yaml") as snap:
        yield snap.root


@pytest.fixture(scope="module")
def batch_code():
    with staged("taxi_batch", "azure-ml-job.yaml") as snap:
        yield snap.root


def deploy(exp, code, run_dir, uri, inputs, repo_root=REPO, **kwargs) -> tuple[int, str, str]:
    from scaffold.config import Config
    from scaffold.local_job import deploy
    from scaffold.paths import Repo

    out, err = io.StringIO(), io.StringIO()
    run_dir.mkdir(parents=True, exist_ok=True)
    kind, deployment = deploy.detect(code)
    code_ = deploy.run(
        Repo(repo_root), Config(REPO), exp, kind, deployment, inputs, run_dir, uri, out=out, err=err, **kwargs
    )
    return code_, out.getvalue(), err.getvalue()


def container_exists(name: str) -> bool:
    listed = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"name=^/{name}$"], capture_output=True, text=True
    )
    return bool(listed.stdout.strip())


def test_detect_reads_the_yaml_main_py_loads(online_code, batch_code):
    from azure.ai.ml.entities import BatchDeployment, ManagedOnlineDeployment

    from scaffold import snapshot
    from scaffold.local_job.deploy import detect

    kind, deployment = detect(online_code)
    assert kind == "online" and isinstance(deployment, ManagedOnlineDeployment)
    assert Path(deployment.base_path) == online_code  # where the code and the build context are read from
    kind, deployment = detect(batch_code)
    assert kind == "batch" and isinstance(deployment, BatchDeployment)
    with snapshot.staged(REPO / "src" / "nyc_taxi", REPO / "src" / "common") as training:
        assert detect(training.root) == (None, None)


def test_online_scores_the_sample_through_the_scoring_route(online_code, registry, tiny_taxi_model, tmp_path):
    import json

    _, request, expected, _ = tiny_taxi_model
    inputs = {"model": f"{MODEL}@latest", "endpoint_name": "taxi-fare-online"}
    code, out, err = deploy("taxi_online", online_code, tmp_path / "run", registry, inputs)
    assert code == 0, out + err
    assert f"local: model {MODEL} version 1 from {registry}" in out
    uri = re.search(r"^local: scoring URI (http://127\.0\.0\.1:\d+/score)$", out, re.M)
    assert uri, out
    predictions = json.loads(
        re.search(r"^local: predictions for the sample request \(3 rows\): (.*)$", out, re.M)[1]
    )
    assert predictions == pytest.approx(expected, rel=1e-9)  # the sample request, scored by the served model
    container = re.search(r"^local: container (\S+)", out, re.M)[1]
    assert not container_exists(container)
    assert "Booting worker" in (tmp_path / "run" / "deployment.log").read_text()  # its log, kept


def test_online_serve_until_sigterm_removes_the_container(online_code, registry, tmp_path):
    """serve=True in a child process with the CLI's SIGTERM handling; the URI answers until the signal."""
    child = f"""
import signal, sys
from pathlib import Path
from scaffold import cli
from scaffold.config import Config
from scaffold.local_job import deploy
from scaffold.paths import Repo
signal.signal(signal.SIGTERM, cli._terminate)
try:
    repo, code, run_dir = Path({str(REPO)!r}), Path({str(online_code)!r}), Path({str(tmp_path)!r})
    found = deploy.detect(code)
    deploy.run(Repo(repo), Config(repo), "taxi_online", *found, {{}}, run_dir, {registry!r}, serve=True)
except cli.Terminated:
    sys.exit(143)
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [PYTHON, "-c", child], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("local: serving until Ctrl-C"):
                break
        output = "".join(lines)
        uri = re.search(r"^local: scoring URI (\S+)$", output, re.M)[1]
        container = re.search(r"^local: container (\S+)", output, re.M)[1]
        time.sleep(1)
        with urllib.request.urlopen(uri.removesuffix("/score") + "/", timeout=10) as response:
            assert response.status == 200
        assert container_exists(container)
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=60)
    assert process.returncode == 143, output + rest
    assert not container_exists(container)


def test_missing_model_is_one_line(online_code, registry, tmp_path):
    code, out, err = deploy(
        "taxi_online", online_code, tmp_path / "run", registry, {"model": "no_such_model@latest"}
    )
    assert code != 0 and err.count("\n") == 1, err
    assert err.startswith(f"error: no registered model no_such_model in {registry}: ")
    assert "make job EXP=nyc_taxi XARGS=--local" in err and "make local EXP=nyc_taxi" in err


def test_batch_writes_one_append_row_line_per_input_row(batch_code, registry, tiny_taxi_model, tmp_path):
    trips = tiny_taxi_model[3]
    folder = tmp_path / "input"
    folder.mkdir()
    for number in range(3):  # three files, mini-batches of two (batch-deployment.yml)
        shutil.copy(trips, folder / f"trips_{number}.csv")
    code, out, err = deploy("taxi_batch", batch_code, tmp_path / "run", registry, {"invoke": str(folder)})
    assert code == 0, out + err
    assert "local: 120 rows from 2 mini-batch(es); failed files: 0 (error_threshold 2)" in out
    lines = (tmp_path / "run" / "score" / "predictions.csv").read_text().splitlines()
    assert len(lines) == 120  # one line per input row, no header
    sys.path.insert(0, str(batch_code))
    try:
        from batch_driver import read_predictions
    finally:
        sys.path.remove(str(batch_code))
    predictions = read_predictions(tmp_path / "run" / "score" / "predictions.csv")
    assert list(predictions["file"].unique()) == ["trips_0.csv", "trips_1.csv", "trips_2.csv"]
    assert (
        list(predictions["row"][:40]) == list(range(40)) and predictions["prediction"].between(2, 300).all()
    )
    assert lines[0].startswith("trips_0.csv 0 ") and len(lines[0].split(" ")) == 3
    assert os.stat(tmp_path / "run" / "score" / "predictions.csv").st_uid == os.getuid()


def test_batch_bad_input_is_one_line(batch_code, registry, tmp_path):
    missing = tmp_path / "no-such-folder"
    code, out, err = deploy("taxi_batch", batch_code, tmp_path / "a", registry, {"invoke": str(missing)})
    assert (code, err) == (2, f"error: inputs.invoke: no such file or folder: {missing}\n")

    code, out, err = deploy("taxi_batch", batch_code, tmp_path / "b", registry, {}, repo_root=tmp_path)
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: nothing to score: set inputs.invoke")

    broken = tmp_path / "broken"
    broken.mkdir()
    for number in range(5):  # more unreadable files than error_threshold (2) allows
        (broken / f"trips_{number}.parquet").write_bytes(b"this is not parquet")
    code, out, err = deploy("taxi_batch", batch_code, tmp_path / "c", registry, {"invoke": str(broken)})
    assert code == 1 and err.count("\n") == 1, out + err
    assert err.startswith("error: 3 file(s) failed, more than error_threshold (2): ThresholdExceeded: ")
    assert "cannot read" in err
