"""The model registry side of champion/challenger: find the current champion, register a new one."""

from __future__ import annotations

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient


def latest_version(name: str) -> ModelVersion | None:
    """The highest registered version of `name` (the champion), or None if there is none."""
    client = MlflowClient()
    try:
        versions = client.search_model_versions(f"name='{name}'")
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" in str(exc.error_code) or "not found" in str(exc).lower():
            return None
        raise
    return max(versions, key=lambda version: int(version.version), default=None)


def model_uri(version: ModelVersion) -> str:
    """The models:/ URI of a registered version."""
    return f"models:/{version.name}/{version.version}"


def resolve_version(name: str, version: str | None) -> str | None:
    """The requested version if it is registered, else the latest; None when nothing is registered."""
    try:
        versions = [str(v.version) for v in MlflowClient().search_model_versions(f"name='{name}'")]
    except MlflowException:
        versions = []
    if not versions:
        return None
    if version is None:
        return str(max(int(v) for v in versions))
    if str(version) not in versions:
        known = ", ".join(sorted(versions, key=int))
        raise SystemExit(f"error: {name} has no version {version} (registered: {known})")
    return str(version)
