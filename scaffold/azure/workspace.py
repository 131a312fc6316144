"""The Azure ML workspace: settings (environment > config.env > config.json), credential and MLClient.
Every network call goes through `ml_client`'s client, which tests replace at the SDK boundary."""

from __future__ import annotations

import json
import logging

from scaffold.config import Config
from scaffold.errors import ScaffoldError
from scaffold.paths import Repo

WORKSPACE_KEYS = (
    ("SUBSCRIPTION_ID", "subscription_id"),
    ("RESOURCE_GROUP", "resource_group"),
    ("WORKSPACE", "workspace_name"),
)
NOT_CONFIGURED = (
    "workspace not configured: set SUBSCRIPTION_ID, RESOURCE_GROUP and WORKSPACE in config.env "
    "(or the environment), or add config.json"
)
NO_CREDENTIAL = (
    "no usable Azure credential: run az login (or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET)"
)
ARM_SCOPE = "https://management.azure.com/.default"


def workspace_settings(repo: Repo, config: Config) -> dict[str, str]:
    """subscription_id, resource_group and workspace_name: environment > config.env > config.json."""
    from_json: dict = {}
    found = [p for p in (repo.root / "config.json", repo.root / ".azureml" / "config.json") if p.is_file()]
    if found:
        try:
            from_json = json.loads(found[0].read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            raise ScaffoldError(
                f"{found[0].relative_to(repo.root)}: not a valid Azure ML config.json ({exc})"
            )
    settings = {}
    for env_key, key in WORKSPACE_KEYS:
        value = from_json.get(key) or from_json.get(key.replace("_name", "")) or ""
        settings[key] = (config.get(env_key) or str(value)).strip()
    if not all(settings.values()):
        raise ScaffoldError(NOT_CONFIGURED)
    return settings


# Not public: pinned by tests/test_job.py::test_sdk_private_names_still_exist (azure-ai-ml 1.35.2).
EXPERIMENTAL_LOGGER = "azure.ai.ml._utils._experimental"


def quiet_sdk_logs() -> None:
    """The SDK logs experimental-class notices and a long credential report; we print one line instead."""
    logging.getLogger("azure.identity").setLevel(logging.ERROR)
    logging.getLogger(EXPERIMENTAL_LOGGER).setLevel(logging.ERROR)


def credential():
    """DefaultAzureCredential, probed for an ARM token before anything is uploaded, so a missing login is
    one line, not a stack trace halfway through an upload. Managed identity stays enabled (jobs sign in
    with it inside Azure); the metadata endpoint is probed with a short timeout."""
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import CredentialUnavailableError, DefaultAzureCredential

    quiet_sdk_logs()
    cred = DefaultAzureCredential()
    try:
        cred.get_token(ARM_SCOPE)
    except (ClientAuthenticationError, CredentialUnavailableError) as exc:
        # The chain goes past each credential that is not set up and stops at the first that fails: then
        # its line (`\tEnvironmentCredential: Authentication failed: ...`) is the last of the message.
        attempts = [line.strip() for line in str(exc).splitlines() if line.startswith("\t")]
        if 0 < len(attempts) < len(getattr(cred, "credentials", ())):
            raise ScaffoldError(f"the Azure sign-in failed: {attempts[-1]}") from None
        raise ScaffoldError(NO_CREDENTIAL) from None
    return cred


def ml_client(repo: Repo, config: Config):
    """An MLClient for the configured workspace; settings and credential are checked first."""
    settings = workspace_settings(repo, config)
    cred = credential()
    from azure.ai.ml import MLClient

    return MLClient(cred, settings["subscription_id"], settings["resource_group"], settings["workspace_name"])


def one_line(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def sdk_call(what: str, call):
    """Run one SDK call; Azure errors become one line."""
    from azure.core.exceptions import AzureError, ClientAuthenticationError

    try:
        return call()
    except ClientAuthenticationError:
        raise ScaffoldError(NO_CREDENTIAL) from None
    except AzureError as exc:
        raise ScaffoldError(f"{what} failed: {one_line(exc)}") from None
