"""Azure ML compute: an AmlCompute cluster that scales to zero, and its managed identity."""

from __future__ import annotations

import re
import sys

from scaffold.azure import job_yaml, workspace
from scaffold.config import Config
from scaffold.errors import ScaffoldError
from scaffold.paths import Repo

DEFAULT_SIZE = "Standard_DS3_v2"
DEFAULT_MAX = 4
COMPUTE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,14}[A-Za-z0-9]$")
USER_IDENTITY_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
    r"Microsoft\.ManagedIdentity/userAssignedIdentities/[^/]+$",
    re.IGNORECASE,
)


def ensure_compute(repo: Repo, config: Config, name: str, size: str, max_nodes: str, options) -> int:
    """Create or update an AmlCompute cluster (min 0 nodes by default, so it costs nothing when idle).
    `options`: the XARGS of `compute`. The cluster gets a system-assigned managed identity by default:
    jobs with `identity: type: managed` (taxi_online, taxi_batch) sign in with it."""
    name = name or config.get("COMPUTE", "cpu-cluster")
    if not COMPUTE_NAME.match(name):
        raise ScaffoldError(
            f"invalid compute name {name!r}: 2-16 letters, digits or '-', starting with a letter"
        )
    try:
        maximum = int(max_nodes) if str(max_nodes).strip() else DEFAULT_MAX
    except ValueError:
        raise ScaffoldError(f"MAX must be a whole number of nodes, got {max_nodes!r}") from None
    minimum = options.min_nodes
    if maximum < 1 or minimum < 0 or minimum > maximum:
        raise ScaffoldError(f"need 0 <= min ({minimum}) <= MAX ({maximum}) and MAX >= 1")
    workspace.quiet_sdk_logs()
    from azure.ai.ml.entities import AmlCompute

    cluster = AmlCompute(
        name=name,
        size=size or DEFAULT_SIZE,
        min_instances=minimum,
        max_instances=maximum,
        idle_time_before_scale_down=options.idle or None,
        identity=compute_identity(options.identity, options.identity_id),
    )
    if options.dry_run:
        print("# dry run: nothing created")
        print(job_yaml.as_yaml(cluster))
        return 0
    client = workspace.ml_client(repo, config)
    print(f"creating or updating compute {name} ({cluster.size}, {minimum}-{maximum} nodes)", file=sys.stderr)
    poller = workspace.sdk_call("compute creation", lambda: client.compute.begin_create_or_update(cluster))
    result = workspace.sdk_call("compute creation", poller.result)
    print(f"compute {result.name}: {result.size}, {result.min_instances}-{result.max_instances} nodes")
    return 0


def compute_identity(kind: str, resource_id: str):
    """The cluster's managed identity (`kind` as the --identity choices): system-assigned, one
    user-assigned identity (by id), or none."""
    if kind != "user_assigned" and resource_id:
        raise ScaffoldError(f"--identity-id is only for --identity user_assigned, not {kind}")
    if kind == "none":
        return None
    from azure.ai.ml.entities import IdentityConfiguration, ManagedIdentityConfiguration

    if kind == "system_assigned":
        return IdentityConfiguration(type="system_assigned")
    if not USER_IDENTITY_ID.match(resource_id):
        raise ScaffoldError(
            "--identity user_assigned needs --identity-id /subscriptions/<id>/resourceGroups/<group>/"
            "providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>, "
            f"got {resource_id or 'nothing'!r}"
        )
    return IdentityConfiguration(
        type="user_assigned", user_assigned_identities=[ManagedIdentityConfiguration(resource_id=resource_id)]
    )
