"""`make job ... --local` for taxi_online and taxi_batch: the deployment their YAML describes, run locally.

Under the managed contracts (src/taxi_online/README.md, docs/azure.md): the image built from the deployment's
build context (BASE_IMAGE as build argument), the registered model from the MLflow registry at
AZUREML_MODEL_DIR, the code where Azure ML mounts it, the deployment's environment_variables, the host user,
ports on 127.0.0.1 only; the container is always removed.

Not Azure ML's own local endpoints (azure-ai-ml 1.35.2 `operations/_local_deployment_helper.py`): they need
a workspace, build with `pull=True` and no build arguments (the MCR base cannot be pulled here), publish
ports on all interfaces, run as root and wait a fixed 15 s instead of probing; batch has no local mode.
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

from scaffold import images
from scaffold.azure.workspace import one_line
from scaffold.errors import ScaffoldError
from scaffold.local_job import deploy_batch, deploy_online
from scaffold.local_job.deploy_online import Model

FILES = {"online": "deployment.yml", "batch": "batch-deployment.yml"}  # as main.py finds them
MODEL_REFERENCE = re.compile(r"^(?:azureml:)?(?P<name>[A-Za-z0-9_.-]+)(?:(?::|@)(?P<version>[^:@/]+))?$")
REGISTERS = "make job EXP=nyc_taxi XARGS=--local or make local EXP=nyc_taxi registers one"


def detect(snap_root: Path) -> tuple[str | None, object]:
    """('online', a managed online deployment.yml) or ('batch', a batch-deployment.yml), loaded by the SDK as
    main.py loads it; (None, None) for any other experiment."""
    from azure.ai.ml import load_batch_deployment, load_online_deployment
    from azure.ai.ml.entities import BatchDeployment, ManagedOnlineDeployment

    for kind, loader, entity in (
        ("online", load_online_deployment, ManagedOnlineDeployment),
        ("batch", load_batch_deployment, BatchDeployment),
    ):
        path = snap_root / FILES[kind]
        if not path.is_file():
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # BatchDeployment's deprecation notice, marshmallow's chatter
                deployment = loader(path)
        except Exception as exc:  # noqa: BLE001 - the SDK raises many validation types; one line is enough
            raise ScaffoldError(f"{path.name}: cannot load the deployment: {one_line(exc)}") from None
        if isinstance(deployment, entity):
            return kind, deployment
    return None, None


def run(
    repo,
    config,
    exp: str,
    kind: str,
    deployment,
    inputs: dict[str, str],
    run_dir: Path,
    tracking_uri: str,
    serve: bool = False,
    out=None,
    err=None,
) -> int:
    """Emulate the deployment `detect` found; the exit code (one `error:` line on err when it fails)."""
    out, err = out or sys.stdout, err or sys.stderr
    snap_root = Path(deployment.base_path)
    try:
        source = batch_input(repo, inputs) if kind == "batch" else None  # bad input fails before the build
        reference = inputs.get("model") or str(deployment.model)
        model = fetch_model(reference, tracking_uri, run_dir / "azureml-models")
        print(f"local: model {model[0]} version {model[1]} from {tracking_uri}", file=out)
        image = build_image(exp, deployment, config, out)
        if kind == "online":
            endpoint = inputs.get("endpoint_name") or deployment.endpoint_name
            return deploy_online.run(exp, endpoint, deployment, image, snap_root, model, run_dir, serve, out)
        return deploy_batch.run(exp, deployment, image, snap_root, model, source, run_dir, out)
    except ScaffoldError as exc:
        print(f"error: {exc}", file=err, flush=True)
        return exc.exit_code


def fetch_model(reference: str, tracking_uri: str, models: Path) -> Model:
    """(name, version, folder) of `name@latest`, `name:version` or `name@version`, downloaded into
    models/name/version. Not a `models:/` URI: mlflow 3.15 resolves those with the global registry URI."""
    import mlflow.artifacts
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    match = MODEL_REFERENCE.match(reference.strip())
    if not match:
        raise ScaffoldError(
            f"invalid model reference {reference!r}: use name@latest, name:version or name@version"
        )
    name, version = match["name"], match["version"] or "latest"
    try:
        client = MlflowClient(tracking_uri, tracking_uri)
        found = client.search_model_versions(f"name='{name}'")
        versions = sorted((str(v.version) for v in found), key=lambda v: int(v) if v.isdigit() else -1)
        if not versions:
            raise ScaffoldError(f"no registered model {name} in {tracking_uri}: {REGISTERS}")
        version = versions[-1] if version == "latest" else version
        if version not in versions:
            raise ScaffoldError(f"{name} has no version {version} (registered: {', '.join(versions)})")
        into = models / name / version
        into.mkdir(parents=True, exist_ok=True)
        location = client.get_model_version_download_uri(name, version)
        mlflow.artifacts.download_artifacts(
            artifact_uri=location, dst_path=str(into), tracking_uri=tracking_uri
        )
    except MlflowException as exc:
        raise ScaffoldError(f"MLflow registry {tracking_uri}: {one_line(exc)}") from None
    return name, version, into


def build_image(exp: str, deployment, config, out) -> str:
    """The deployment environment's image, built from its build context as `make build-exp` builds it."""
    build = getattr(deployment.environment, "build", None)
    if build is None or not build.path:
        raise ScaffoldError(
            f"{exp}: the deployment's environment has no build context (environment.build.path)"
        )
    context = Path(deployment.base_path, build.path).resolve()
    base = config.get("BASE_IMAGE")
    spec = images.ImageSpec(exp, context, {"BASE_IMAGE": base} if base else {}, {"scaffold.experiment": exp})
    return images.ensure(spec, out=out)


def batch_input(repo, inputs: dict[str, str]) -> Path:
    """inputs.invoke (a local file or folder), else the trips under data/nyc_taxi/raw."""
    given = inputs.get("invoke")
    source = Path(given).expanduser() if given else repo.data / "nyc_taxi" / "raw"
    if given and not source.exists():
        raise ScaffoldError(f"inputs.invoke: no such file or folder: {source}")
    if not source.exists():
        raise ScaffoldError(
            f'nothing to score: set inputs.invoke to a local file or folder (XARGS="--local --set '
            f'inputs.invoke=PATH"), or run make local EXP=nyc_taxi, which writes {source}'
        )
    return source.resolve()
