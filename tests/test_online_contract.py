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
in the same image; the container is started by scaffold/local_job/deploy_online.py, the code behind
`make job EXP=taxi_online XARGS=--local`. Locally it also runs as the host user, ports on 127.0.0.1 only.
Nothing here talks to Azure.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest
from conftest import REPO

pytestmark = [
    pytest.mark.docker,
    pytest.mark.filterwarnings("ignore:::azure", "ignore:::marshmallow", "ignore::DeprecationWarning"),
]

EXP_DIR = REPO / "src" / "taxi_online"
APP_ROOT = "/var/azureml-app"
MODEL = ("nyc_taxi_fare", "1")


def docker(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"docker {args[0]} failed: {result.stderr.strip()[-2000:]}"
    return result


def inspect(what: str, name: str, template: str):
    return json.loads(docker(*what.split(), "inspect", "--format", "{{json " + template + "}}", name).stdout)


@pytest.fixture(scope="module")
def deployment():
    from azure.ai.ml import load_online_deployment

    return load_online_deployment(EXP_DIR / "deployment.yml")


def test_the_image_serves_as_a_managed_online_deployment(deployment, taxi_online_image, tiny_taxi_model):
    """Started by the same code as `make job EXP=taxi_online XARGS=--local` (scaffold/local_job)."""
    from scaffold import snapshot
    from scaffold.local_job import deploy_online

    model_root, request, expected, _ = tiny_taxi_model
    image, container = taxi_online_image, f"taxi-online-contract-{uuid.uuid4().hex[:8]}"
    declared = deploy_online.routes(deployment)
    assert {route: path for route, (path, _) in declared.items()} == {
        "liveness": "/", "readiness": "/", "scoring": "/score"
    }  # fmt: skip
    with snapshot.staged(EXP_DIR, REPO / "src" / "common") as code:
        model = (*MODEL, model_root)
        with deploy_online.started(deployment, image, code.root, model, container, "taxi_online") as urls:
            own = inspect("image", image, ".Config.Cmd")
            assert (
                inspect("container", container, ".Config.Cmd") == own and own
            ), "not the image's own command"
            env = dict(line.split("=", 1) for line in inspect("container", container, ".Config.Env"))
            app_root = f"{APP_ROOT}/{code.root.name}"
            assert env["AZUREML_MODEL_DIR"] == f"{APP_ROOT}/azureml-models/nyc_taxi_fare/1"
            assert (env["AML_APP_ROOT"], env["AZUREML_ENTRY_SCRIPT"]) == (app_root, "score.py")
            assert deployment.environment_variables.items() <= env.items()
            mounts = {m["Destination"]: m for m in inspect("container", container, ".Mounts")}
            assert mounts[app_root]["Source"] == str(code.root) and not mounts[app_root]["RW"]
            assert mounts[env["AZUREML_MODEL_DIR"]]["Source"] == str(model_root)
            ports = inspect("container", container, ".NetworkSettings.Ports")
            bound = [b["HostIp"] for port in ports.values() for b in (port or [])]
            assert bound and set(bound) == {"127.0.0.1"}, ports
            assert inspect("container", container, ".Config.User") == f"{os.getuid()}:{os.getgid()}"

            deploy_online.wait_ready(urls, container, timeout=180)
            for route in ("liveness", "readiness", "scoring"):
                assert urls[route].endswith(declared[route][0])
            status, body = deploy_online.score(urls["scoring"], request, timeout=30)
            assert status == 200, body
            assert json.loads(body) == pytest.approx(expected, rel=1e-9)
    gone = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"name=^/{container}$"], capture_output=True, text=True
    )
    assert gone.stdout.strip() == "", "the container was left behind"
