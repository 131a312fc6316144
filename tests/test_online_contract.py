"""taxi_online's image started as a managed online deployment starts it, on a real Docker daemon.

Azure ML's contract for a custom image (environment.inference_config), as the SDK's local endpoints mirror it
(azure/ai/ml/_local_endpoints/azureml_image_context.py and operations/_local_deployment_helper.py in
azure-ai-ml 1.35.2) and as https://learn.microsoft.com/azure/machine-learning/how-to-deploy-custom-container
describes it:
- the image runs with its own command (no command is given);
- the model is mounted at /var/azureml-app/azureml-models/<name>/<version>, named by AZUREML_MODEL_DIR;
- the code folder is mounted at /var/azureml-app/<code folder name>/, named by AML_APP_ROOT, and
  AZUREML_ENTRY_SCRIPT names the scoring script in it;
- the deployment's environment_variables are set too;
- liveness, readiness and scoring requests go to the routes and port inference_config declares.
The code is the snapshot `make job` stages (src/taxi_online + common/), the model a small MLflow model trained
in the same image. Nothing here talks to Azure.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid

import pytest
from conftest import REPO, http_status

pytestmark = [
    pytest.mark.docker,
    pytest.mark.filterwarnings("ignore:::azure", "ignore:::marshmallow", "ignore::DeprecationWarning"),
]

EXP_DIR = REPO / "src" / "taxi_online"
APP_ROOT = "/var/azureml-app"
MODEL = ("nyc_taxi_fare", "1")

# Runs in the image, as the host user: the experiment's own fixture trains and saves the model (MLflow sklearn
# flavor, signature, input example), then score.py builds a request from it and the model predicts it.
TRAIN = """
import json, sys
from pathlib import Path
sys.path[:0] = ["/src/taxi_online", "/src/taxi_online/tests", "/src"]
from conftest import save_tiny_model
from common.signature import sample_request
import mlflow.pyfunc
path, _ = save_tiny_model(Path("/out/model/nyc_taxi_fare"))
request = sample_request(str(path), rows=3)
data = request["input_data"]
import pandas as pd
frame = pd.DataFrame(data["data"], columns=data["columns"])
expected = [float(v) for v in mlflow.pyfunc.load_model(str(path)).predict(frame)]
Path("/out/request.json").write_text(json.dumps({"request": request, "expected": expected}))
"""


def docker(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {args[0]} failed: {result.stderr.strip()[-2000:]}")
    return result


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def deployment():
    from azure.ai.ml import load_online_deployment

    return load_online_deployment(EXP_DIR / "deployment.yml")


@pytest.fixture(scope="module")
def image():
    """The taxi_online image as `make build-exp` builds it (BASE_IMAGE from the environment)."""
    from scaffold import images

    return images.ensure(images.experiment_image(EXP_DIR, os.environ.get("BASE_IMAGE", "")), quiet=True)


@pytest.fixture(scope="module")
def trained(image, tmp_path_factory):
    out = tmp_path_factory.mktemp("online-contract")
    docker(
        "run", "--rm", "--user", f"{os.getuid()}:{os.getgid()}", "-e", "HOME=/tmp",
        "-e", "MPLCONFIGDIR=/tmp/matplotlib", "--entrypoint", "python",
        "--mount", f"type=bind,source={REPO / 'src'},target=/src,readonly",
        "--mount", f"type=bind,source={out},target=/out",
        image, "-c", TRAIN,
    )  # fmt: skip
    saved = json.loads((out / "request.json").read_text())
    return out / "model", saved["request"], saved["expected"]


def routes(deployment) -> dict[str, tuple[str, int]]:
    config = deployment.environment.inference_config
    assert config is not None, (
        "deployment.yml's environment declares no inference_config: Azure ML would not know where to "
        "probe or send requests to this custom image"
    )
    return {
        name: (getattr(config, f"{name}_route").path, int(getattr(config, f"{name}_route").port))
        for name in ("liveness", "readiness", "scoring")
    }


def test_the_image_serves_as_a_managed_online_deployment(deployment, image, trained):
    from scaffold import snapshot

    model_root, request, expected = trained
    declared = routes(deployment)
    ports = {port for _, port in declared.values()}
    published = {port: free_port() for port in ports}
    name, version = MODEL
    model_dir = f"{APP_ROOT}/azureml-models/{name}/{version}"
    container = f"taxi-online-contract-{uuid.uuid4().hex[:8]}"
    with snapshot.staged(EXP_DIR, REPO / "src" / "common") as code:
        app_root = f"{APP_ROOT}/{code.root.name}"
        env = {
            **deployment.environment_variables,
            "AZUREML_MODEL_DIR": model_dir,
            "AML_APP_ROOT": app_root,
            "AZUREML_ENTRY_SCRIPT": deployment.code_configuration.scoring_script,
        }
        argv = ["run", "-d", "--name", container]
        for key, value in env.items():
            argv += ["-e", f"{key}={value}"]
        for port, host_port in published.items():
            argv += ["-p", f"127.0.0.1:{host_port}:{port}"]
        argv += [
            "--mount", f"type=bind,source={model_root},target={model_dir},readonly",
            "--mount", f"type=bind,source={code.root},target={app_root},readonly",
            image,
        ]  # fmt: skip
        docker(*argv)
        try:
            configured = json.loads(docker("inspect", "--format", "{{json .Config.Cmd}}", container).stdout)
            own = json.loads(docker("image", "inspect", "--format", "{{json .Config.Cmd}}", image).stdout)
            assert (
                configured == own and own
            ), f"the container must run the image's own command, got {configured}"

            def url(route: str) -> str:
                path, port = declared[route]
                return f"http://127.0.0.1:{published[port]}{path}"

            deadline = time.monotonic() + 180
            while http_status(url("readiness")) != 200:
                state = docker("inspect", "--format", "{{.State.Status}}", container).stdout.strip()
                if state != "running" or time.monotonic() > deadline:
                    logs = docker("logs", "--tail", "30", container, check=False)
                    pytest.fail(
                        f"the deployment never became ready on {url('readiness')} (container {state}):\n"
                        f"{logs.stdout[-2500:]}{logs.stderr[-2500:]}"
                    )
                time.sleep(0.5)
            assert http_status(url("liveness")) == 200

            import urllib.request

            sent = urllib.request.Request(
                url("scoring"),
                data=json.dumps(request).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(sent, timeout=30) as response:
                assert response.status == 200
                predictions = json.loads(response.read())
            assert predictions == pytest.approx(expected, rel=1e-9)
        finally:
            docker("rm", "-f", container, check=False)
