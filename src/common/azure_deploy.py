"""Helpers for deployment jobs (taxi_online, taxi_batch): the workspace client, model references, printing.

Runs in Azure ML (a command job signed in with the compute's managed identity) and on a laptop (az login),
without the scaffold driver. `azure.ai.ml` and `azure.identity` are imported only when a client is needed.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from contextlib import ExitStack, contextmanager
from pathlib import Path

# Set by Azure ML inside every job; a laptop uses SUBSCRIPTION_ID/RESOURCE_GROUP/WORKSPACE or config.json.
WORKSPACE_VARIABLES = {
    "subscription_id": ("AZUREML_ARM_SUBSCRIPTION", "SUBSCRIPTION_ID"),
    "resource_group_name": ("AZUREML_ARM_RESOURCEGROUP", "RESOURCE_GROUP"),
    "workspace_name": ("AZUREML_ARM_WORKSPACE_NAME", "WORKSPACE"),
}
MODEL_REFERENCE = re.compile(
    r"^(?:azureml:)?(?P<name>[A-Za-z0-9_.-]+)(?:(?::(?P<version>[^:@]+))|@(?P<label>\w+))?$"
)


def ml_client(subscription_id: str = "", resource_group: str = "", workspace: str = ""):
    """MLClient for the workspace: explicit values, then the job's variables, then config.json.

    DefaultAzureCredential covers the managed identity of an Azure ML compute (a user-assigned one is picked
    by DEFAULT_IDENTITY_CLIENT_ID, which Azure ML sets), az login, and service principal variables.
    """
    from azure.ai.ml import MLClient
    from azure.identity import DefaultAzureCredential

    credential = DefaultAzureCredential(
        managed_identity_client_id=os.environ.get("DEFAULT_IDENTITY_CLIENT_ID")
    )
    given = {
        "subscription_id": subscription_id,
        "resource_group_name": resource_group,
        "workspace_name": workspace,
    }
    for key, names in WORKSPACE_VARIABLES.items():
        given[key] = given[key] or next((os.environ[n] for n in names if os.environ.get(n)), "")
    if all(given.values()):
        return MLClient(credential, **given)
    return MLClient.from_config(credential)


def parse_model(reference: str) -> tuple[str, str | None, str | None]:
    """(name, version, label) of `azureml:name:version`, `name@latest` or `name`."""
    match = MODEL_REFERENCE.match(reference.strip())
    if not match:
        raise ValueError(f"invalid model reference {reference!r}: use name:version, name@latest or name")
    label = match["label"] or (None if match["version"] else "latest")
    return match["name"], match["version"], label


def resolve_model(client, reference: str) -> tuple[str, str]:
    """(name, version) of a model reference, asking the registry for a label such as @latest."""
    name, version, label = parse_model(reference)
    if version:
        return name, version
    model = client.models.get(name=name, label=label)
    return name, str(model.version)


def as_yaml(entity) -> str:
    """An SDK entity as the YAML the SDK itself writes (what would be sent)."""
    import yaml

    stream = io.StringIO()
    entity.dump(stream)
    text = stream.getvalue()
    if not text.strip():  # some entities (online endpoints) write nothing to a stream
        text = yaml.safe_dump(json.loads(json.dumps(entity._to_dict(), default=str)), sort_keys=True)
    return text


class DeployError(RuntimeError):
    """A problem main.py reports in one line before anything is sent to Azure ML."""


@contextmanager
def deployment_folder(yaml_file: Path, extra: tuple[str, ...] = ()):
    """The folder to load the deployment YAML from, so that its `code: .` holds common/ next to the script.

    Inside the job (`make job`), Azure ML runs main.py in the snapshot the driver staged: the experiment plus
    common/, so the YAML's own folder is used as it is. Run from src/<exp> (a laptop, the repository root on
    PYTHONPATH), the same snapshot is staged with the driver's scaffold.snapshot in a temporary folder, which
    is removed when the block ends: keep the SDK calls that upload the code inside it.
    """
    folder = Path(yaml_file).resolve().parent
    if (folder / "common").is_dir():
        yield folder
        return
    try:
        from scaffold.errors import ScaffoldError
        from scaffold.snapshot import staged
    except ImportError:
        raise DeployError(
            f"{folder.name}/ has no common/ and the driver (scaffold) is not importable to stage it: run "
            f"from the repository root with PYTHONPATH=.:src, or deploy with make job EXP={folder.name}"
        ) from None
    with ExitStack() as stack:
        try:
            snapshot = stack.enter_context(
                staged(folder, folder.parent / "common", force=[Path(yaml_file).name, *extra])
            )
        except ScaffoldError as exc:  # e.g. a full disk: one line, nothing left behind
            raise DeployError(str(exc)) from None
        say(f"deploy: code staged from src/{folder.name} + common/ ({snapshot.summary()}) in {snapshot.root}")
        yield snapshot.root


def say(message: str) -> None:
    print(message, flush=True)


def fail(message: str, code: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    return code
