"""A managed online deployment with a custom image, started on this machine the way Azure ML starts it.

The contract (azure-ai-ml 1.35.2 `_local_endpoints/azureml_image_context.py`; Learn "Use a custom container
to deploy a model to an online endpoint"; src/taxi_online/README.md):
- the image runs with its own command (none is given);
- the model is mounted at /var/azureml-app/azureml-models/<name>/<version>, named by AZUREML_MODEL_DIR;
- the code folder is mounted at /var/azureml-app/<code folder>, named by AML_APP_ROOT, and
  AZUREML_ENTRY_SCRIPT names the scoring script in it;
- the deployment's environment_variables are set too (after Azure ML's, as the SDK merges them);
- liveness, readiness and scoring requests go to the routes and ports environment.inference_config declares.
Locally the container runs as the host user, each declared port is published on 127.0.0.1 only (on the same
number when it is free), and the container is removed whatever ends the block.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from scaffold import containers
from scaffold.errors import ScaffoldError

APP_ROOT = "/var/azureml-app"
Model = tuple[str, str, Path]  # name, version, the local folder it was downloaded to
# Azure ML's readiness probe defaults (Learn: "online deployment YAML schema", ProbeSettings).
PROBE_DEFAULTS = {"initial_delay": 10, "period": 10, "failure_threshold": 30}


def docker_run(container: str, label: str, env: dict[str, str], mounts: dict, *flags: str) -> list[str]:
    """`docker run` as the host user, with `env` and read-only bind mounts {host path: container path}."""
    argv = ["docker", "run", *flags, "--name", container, "--label", f"scaffold.experiment={label}"]
    if hasattr(os, "getuid"):
        argv += ["--user", f"{os.getuid()}:{os.getgid()}"]
    for key, value in env.items():
        argv += ["-e", f"{key}={value}"]
    for host, inside in mounts.items():
        argv += ["--mount", f"type=bind,source={host},target={inside},readonly"]
    return argv


def model_dir(model: Model) -> str:
    """AZUREML_MODEL_DIR of the model (name, version, folder)."""
    return f"{APP_ROOT}/azureml-models/{model[0]}/{model[1]}"


def routes(deployment) -> dict[str, tuple[str, int]]:
    """{liveness|readiness|scoring: (path, port)} from the environment's inference_config."""
    config = getattr(deployment.environment, "inference_config", None)
    if config is None:
        raise ScaffoldError(
            "the deployment's environment declares no inference_config: Azure ML would not know where to "
            "probe or send requests to its custom image"
        )
    declared = {name: getattr(config, f"{name}_route") for name in ("liveness", "readiness", "scoring")}
    return {name: (route.path, int(route.port)) for name, route in declared.items()}


def host_port(port: int) -> int:
    """`port` on 127.0.0.1 when it is free, else any free port."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def started(
    deployment, image: str, code: Path, model: Model, container: str, label: str, log: Path | None = None
) -> Iterator[dict[str, str]]:
    """Start the deployment's container; yield the URL of each route; remove the container at the end."""
    declared = routes(deployment)
    published = {port: host_port(port) for port in sorted({port for _, port in declared.values()})}
    env = {  # Azure ML's variables, then the deployment's own
        "AZUREML_MODEL_DIR": model_dir(model),
        "AML_APP_ROOT": f"{APP_ROOT}/{code.name}",
        "AZUREML_ENTRY_SCRIPT": deployment.code_configuration.scoring_script,
        **(deployment.environment_variables or {}),
    }
    mounts = {model[2]: env["AZUREML_MODEL_DIR"], code: env["AML_APP_ROOT"]}
    argv = docker_run(container, label, env, mounts, "-d")
    for port, on_host in published.items():
        argv += ["-p", f"127.0.0.1:{on_host}:{port}"]
    try:
        begun = containers.create(argv + [image], stderr=subprocess.PIPE, text=True)
        if begun.returncode != 0:
            problem = (begun.stderr.strip().splitlines() or [f"exit {begun.returncode}"])[-1]
            raise ScaffoldError(f"docker could not start the deployment's container: {problem}")
        yield {route: f"http://127.0.0.1:{published[port]}{path}" for route, (path, port) in declared.items()}
    finally:
        if log is not None:
            with open(log, "w") as sink:
                subprocess.run(["docker", "logs", container], stdout=sink, stderr=subprocess.STDOUT)
        containers.remove(container)


def state(container: str) -> str:
    found = subprocess.run(
        ["docker", "inspect", "--format", "{{.State.Status}}", container], capture_output=True, text=True
    )
    return found.stdout.strip() or "gone"


def score(url: str, request: dict | None = None, timeout: float = 5) -> tuple[int, str]:
    """(status, body) of POSTing the request as JSON, or of a GET without one; status 0: no answer."""
    data = None if request is None else json.dumps(request).encode()
    sent = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(sent, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        return 0, str(getattr(exc, "reason", exc))


def ready_timeout(deployment) -> float:
    """How long Azure ML's readiness probe would wait: initial_delay + period x failure_threshold."""
    probe = getattr(deployment, "readiness_probe", None)
    setting = {key: getattr(probe, key, None) or default for key, default in PROBE_DEFAULTS.items()}
    return setting["initial_delay"] + setting["period"] * setting["failure_threshold"]


def wait_ready(urls: dict[str, str], container: str, timeout: float) -> float:
    """Seconds until readiness answers 200 (then liveness must too); one line when it never does."""
    began = time.monotonic()
    while score(urls["readiness"])[0] != 200:
        now = state(container)
        if now != "running" or time.monotonic() - began > timeout:
            raise ScaffoldError(f"the deployment never became ready on {urls['readiness']} (container {now})")
        time.sleep(0.5)
    if score(urls["liveness"])[0] != 200:
        raise ScaffoldError(
            f"the deployment is ready but its liveness route {urls['liveness']} does not answer 200"
        )
    return time.monotonic() - began


def sample_request(code: Path, model_root: Path, rows: int = 3) -> dict:
    """The request main.py's smoke test sends: the snapshot's own common/signature.py builds it."""
    path = code / "common" / "signature.py"
    if not path.is_file():
        raise ScaffoldError(
            "no common/signature.py in the deployment's code to build the sample request from"
        )
    spec = importlib.util.spec_from_file_location("deployment_signature", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        return module.sample_request(model_root, rows=rows)
    except RuntimeError as exc:
        raise ScaffoldError(f"cannot build the sample request: {exc}") from None


def run(
    exp: str, endpoint: str, deployment, image: str, code: Path, model: Model, run_dir: Path, serve: bool, out
) -> int:
    """Start, probe, score the sample request, print the scoring URI and predictions; serve: until Ctrl-C."""
    request = sample_request(code, model[2])
    settings = getattr(deployment, "request_settings", None)
    request_timeout = (getattr(settings, "request_timeout_ms", None) or 5000) / 1000
    container, log = f"scaffold-{exp}-{uuid.uuid4().hex[:8]}", run_dir / "deployment.log"
    print(f"local: container {container} (image {image}); its log: {log}", file=out)
    with started(deployment, image, code, model, container, exp, log=log) as urls:
        took = wait_ready(urls, container, ready_timeout(deployment))
        print(f"local: deployment {deployment.name} of endpoint {endpoint} ready after {took:.1f}s", file=out)
        status, body = score(urls["scoring"], request, request_timeout)
        if status != 200:
            raise ScaffoldError(
                f"the sample request got HTTP {status} from {urls['scoring']}: {' '.join(body.split())[:300]}"
            )
        print(f"local: scoring URI {urls['scoring']}", file=out)
        rows = len(request["input_data"]["data"])
        print(f"local: predictions for the sample request ({rows} rows): {body}", file=out)
        if not serve:
            return 0
        print(
            f"local: serving until Ctrl-C (liveness {urls['liveness']}, readiness {urls['readiness']})",
            file=out,
            flush=True,
        )
        try:
            while state(container) == "running":
                time.sleep(1)
        except KeyboardInterrupt:
            print("local: stopped", file=out)
            return 0
        raise ScaffoldError(f"the deployment's container stopped; its log: {log}")
