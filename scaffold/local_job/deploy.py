"""`make job ... --local` for the deploy experiments: the deployment their YAML describes, run locally.

taxi_online's and taxi_batch's jobs run main.py, which asks Azure ML to deploy. Locally, the deployment it
would create is emulated instead, under the managed contracts (src/taxi_online/README.md, docs/azure.md):
the environment image built from the deployment's own build context (BASE_IMAGE as build argument when set),
the registered model downloaded from the MLflow registry and mounted at AZUREML_MODEL_DIR, the code (the
staged snapshot) where Azure ML mounts it, the deployment's environment_variables, the host user, ports on
127.0.0.1 only. Online: deploy_online.py; batch: deploy_batch.py. The container is always removed.

Why not Azure ML's own local endpoints (`online_deployments.begin_create_or_update(d, local=True)`, in
azure-ai-ml 1.35.2 `operations/_local_deployment_helper.py` and `_local_endpoints/`): they need a workspace
(a model given as `azureml:name@latest` is read with `models.get` and downloaded from its datastore), build
the environment with `pull=True` and no build arguments (so the MCR base image, which cannot be pulled
here), publish every port on all interfaces, run the container as root and wait a fixed 15 s instead of
probing; batch deployments have no local mode at all.
"""

from __future__ import annotations

import re
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

from scaffold import images
from scaffold.errors import ScaffoldError

FILES = {"online": "deployment.yml", "batch": "batch-deployment.yml"}  # as main.py finds them
MODEL_REFERENCE = re.compile(r"^(?:azureml:)?(?P<name>[A-Za-z0-9_.-]+)(?:(?::|@)(?P<version>[^:@/]+))?$")
REGISTERS = "make job EXP=nyc_taxi XARGS=--local or make local EXP=nyc_taxi registers one"


def load(kind: str, snap_root: Path):
    """The deployment as the SDK loads it from the snapshot (main.py loads the same file)."""
    from azure.ai.ml import load_batch_deployment, load_online_deployment

    loader = load_online_deployment if kind == "online" else load_batch_deployment
    path = snap_root / FILES[kind]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # BatchDeployment's deprecation notice, marshmallow's chatter
            return loader(path)
    except Exception as exc:  # noqa: BLE001 - the SDK raises many validation types; one line is enough
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ScaffoldError(f"{path.name}: cannot load the deployment: {first}") from None


def is_deployment(snap_root: Path) -> str | None:
    """'online' if snap_root/deployment.yml is a managed online deployment, 'batch' for
    snap_root/batch-deployment.yml, else None."""
    return detect(snap_root)[0]


def detect(snap_root: Path) -> tuple[str | None, object]:
    """(kind, the deployment as loaded) or (None, None)."""
    from azure.ai.ml.entities import BatchDeployment, ManagedOnlineDeployment

    for kind, entity in (("online", ManagedOnlineDeployment), ("batch", BatchDeployment)):
        if (snap_root / FILES[kind]).is_file():
            deployment = load(kind, snap_root)
            if isinstance(deployment, entity):
                return kind, deployment
    return None, None


def run(
    repo,
    config,
    exp: str,
    snap_root: Path,
    inputs: dict[str, str],
    run_dir: Path,
    tracking_uri: str,
    serve: bool = False,
    out=None,
    err=None,
) -> int:
    """Emulate the experiment's deployment; the exit code (one `error:` line on err when it fails)."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        kind, deployment = detect(snap_root)
        if kind is None:
            raise ScaffoldError(f"{exp}: no managed online or batch deployment YAML in the snapshot")
        source = batch_input(repo, inputs) if kind == "batch" else None  # bad input fails before the build
        name, version = resolve_model(inputs.get("model") or str(deployment.model), tracking_uri)
        model = (name, version, download_model(name, version, tracking_uri, run_dir / "azureml-models"))
        print(f"local: model {name} version {version} from {tracking_uri}", file=out)
        image = build_image(exp, deployment, config, out)
        if kind == "online":
            from scaffold.local_job import deploy_online

            endpoint = inputs.get("endpoint_name") or deployment.endpoint_name
            return deploy_online.run(exp, endpoint, deployment, image, snap_root, model, run_dir, serve, out)
        from scaffold.local_job import deploy_batch

        return deploy_batch.run(exp, deployment, image, snap_root, model, source, run_dir, out)
    except ScaffoldError as exc:
        print(f"error: {exc}", file=err, flush=True)
        return exc.exit_code


def resolve_model(reference: str, tracking_uri: str) -> tuple[str, str]:
    """(name, version) of `name@latest`, `name:version` or `name@version` in the MLflow registry."""
    from mlflow import MlflowClient

    match = MODEL_REFERENCE.match(reference.strip())
    if not match:
        raise ScaffoldError(
            f"invalid model reference {reference!r}: use name@latest, name:version or name@version"
        )
    name, wanted = match["name"], match["version"] or "latest"
    with registry_errors(tracking_uri):
        found = MlflowClient(tracking_uri, tracking_uri).search_model_versions(f"name='{name}'")
    versions = sorted((str(v.version) for v in found), key=lambda v: int(v) if v.isdigit() else -1)
    if not versions:
        raise ScaffoldError(f"no registered model {name} in {tracking_uri}: {REGISTERS}")
    if wanted == "latest":
        return name, versions[-1]
    if wanted not in versions:
        raise ScaffoldError(f"{name} has no version {wanted} (registered: {', '.join(versions)})")
    return name, wanted


def download_model(name: str, version: str, tracking_uri: str, models: Path) -> Path:
    """models:/name/version downloaded into models/name/version: what Azure ML mounts at AZUREML_MODEL_DIR.

    The version's storage location is asked for explicitly: mlflow 3.15 resolves `models:/` URIs with the
    process's global registry URI, whatever registry_uri download_artifacts is given.
    """
    import mlflow.artifacts
    from mlflow import MlflowClient

    into = models / name / version
    into.mkdir(parents=True, exist_ok=True)
    with registry_errors(tracking_uri):
        location = MlflowClient(tracking_uri, tracking_uri).get_model_version_download_uri(name, version)
        mlflow.artifacts.download_artifacts(
            artifact_uri=location, dst_path=str(into), tracking_uri=tracking_uri
        )
    return into


@contextmanager
def registry_errors(tracking_uri: str):
    """An MLflow error talking to the registry, as one line."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ScaffoldError(f"MLflow registry {tracking_uri}: {first}") from None


def build_image(exp: str, deployment, config, out) -> str:
    """The deployment environment's image, built from its build context as `make build-exp` builds it."""
    environment = deployment.environment
    build = getattr(environment, "build", None)
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
    if not source.exists():
        if given:
            raise ScaffoldError(f"inputs.invoke: no such file or folder: {source}")
        raise ScaffoldError(
            f'nothing to score: set inputs.invoke to a local file or folder (XARGS="--local --set '
            f'inputs.invoke=PATH"), or run make local EXP=nyc_taxi, which writes {source}'
        )
    return source.resolve()
