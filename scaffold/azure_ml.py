"""Azure ML commands: job submission from a staged snapshot, data assets and compute clusters.

`azure.ai.ml` is imported inside the functions that need it; the workspace client comes from
`azure_workspace.ml_client` and the job YAML handling from `job_yaml`.
"""

from __future__ import annotations

import os
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterator

from scaffold import azure_workspace, experiments, gitinfo, images, job_yaml, snapshot
from scaffold.config import Config
from scaffold.errors import ScaffoldError
from scaffold.paths import Repo

DEFAULT_SIZE = "Standard_DS3_v2"
DEFAULT_MAX = 4
ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
COMPUTE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,14}[A-Za-z0-9]$")
IDENTITIES = ("system_assigned", "user_assigned", "none")
USER_IDENTITY_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
    r"Microsoft\.ManagedIdentity/userAssignedIdentities/[^/]+$",
    re.IGNORECASE,
)

# --- make job -----------------------------------------------------------------------------------------


@dataclass
class JobOptions:
    overrides: list[str] = field(default_factory=list)
    name: str = ""
    stream: bool = False
    web: bool = False
    dry_run: bool = False


def job_file(exp_dir: Path, file: str) -> Path:
    """FILE relative to the experiment folder (or to the current folder), and inside the experiment."""
    file = file or "azure-ml-job.yaml"
    candidates = [Path(file)] if Path(file).is_absolute() else [exp_dir / file, Path.cwd() / file]
    for candidate in candidates:
        if candidate.is_file():
            resolved = candidate.resolve()
            if not resolved.is_relative_to(exp_dir.resolve()):
                raise ScaffoldError(
                    f"FILE {file} is outside src/{exp_dir.name}: job YAML files live in the experiment"
                )
            return resolved
    raise ScaffoldError(f"no job file {file} in src/{exp_dir.name}")


def default_name(exp: str, git: gitinfo.GitInfo, now: float | None = None) -> str:
    """<exp>-<UTC timestamp>-<short sha>; a valid Azure ML job name."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return "-".join(part for part in (exp, stamp, git.short) if part)


def image_context_hash(exp_dir: Path) -> str:
    """The docker/ context hash with no build arguments: Azure ML builds the Dockerfile with its defaults."""
    if not (exp_dir / "docker" / "Dockerfile").is_file():
        return ""
    return images.context_hash(exp_dir / "docker", {})


@contextmanager
def staged_job(repo: Repo, exp: str, file: str, set_overrides: list[str], err) -> Iterator[tuple]:
    """(snapshot, job as the SDK loaded it, display name) of src/EXP/FILE, staged as Azure ML gets it."""
    exp_dir = experiments.require(repo, exp)
    yaml_path = job_file(exp_dir, file)
    relative = PurePosixPath(yaml_path.relative_to(exp_dir.resolve()).as_posix())
    display = f"src/{exp}/{relative}"
    data = job_yaml.read_yaml(yaml_path, display)
    overrides = job_yaml.local_input_overrides(data, yaml_path.parent) + job_yaml.parse_set(set_overrides)
    force = job_yaml.staged_paths(data, relative, _component_reader(repo, exp_dir))
    with snapshot.staged(exp_dir, repo.common, force) as snap:
        print(f"{snap.summary()} (src/{exp} + common/)", file=err)
        job = job_yaml.load_job(
            snap.root / relative, overrides, display, replace=(str(snap.root), f"src/{exp}")
        )
        _check_code(job, snap.root, exp, display, err)
        yield snap, job, display


def submit_job(
    repo: Repo, config: Config, exp: str, file: str, options: JobOptions, out=None, err=None
) -> int:
    """Stage, validate, then (unless --dry-run) submit; see docs/azure.md."""
    out, err = out or sys.stdout, err or sys.stderr
    exp_dir = experiments.require(repo, exp)
    git = gitinfo.describe(repo.root, [exp_dir, repo.common])
    tags = {**git.tags(), **({"image_context_hash": h} if (h := image_context_hash(exp_dir)) else {})}
    name = options.name

    with staged_job(repo, exp, file, options.overrides, err) as (snap, job, _):
        job.name = name or job.name or default_name(exp, git)
        job.experiment_name = job.experiment_name or exp
        job.tags = {**(job.tags or {}), **tags}
        if options.dry_run:
            print(
                f"# dry run: nothing submitted. Snapshot of src/{exp} + common/, staged in {snap.root}",
                file=out,
            )
            print("# (removed on exit; the paths below point there):", file=out)
            for line in snap.listing().splitlines():
                print(f"#{line}", file=out)
            print(job_yaml.as_yaml(job), file=out)
            return 0
        client = azure_workspace.ml_client(repo, config)
        print(f"submitting {job.name} to experiment {job.experiment_name}", file=err)
        created = azure_workspace.sdk_call("job submission", lambda: client.jobs.create_or_update(job))

    print(f"job: {created.name}", file=out)
    url = getattr(created, "studio_url", None) or ""
    print(f"studio: {url}", file=out)
    if options.web and url:
        import webbrowser

        webbrowser.open(url)
    if options.stream:
        return stream(client, created.name, url, err)
    return 0


def _component_reader(repo: Repo, exp_dir: Path):
    """Reads a component file named by its snapshot path from where it is staged from (src/common for
    `common/...`); None when there is none. YAML errors name the file in src/."""

    def read(path: str) -> dict | None:
        source = snapshot.source_of(exp_dir, repo.common, path)
        if not source.is_file():
            return None
        display = Path(os.path.relpath(source, repo.root)).as_posix()
        return job_yaml.read_yaml(source, display)

    return read


def _check_code(job, root: Path, exp: str, display: str, err) -> None:
    root = root.resolve()  # code paths are resolved: compare like with like (/tmp may be a link)
    for path in job_yaml.code_paths(job):
        if not path.is_relative_to(root):
            raise ScaffoldError(
                f"{display}: code must be inside src/{exp} (the snapshot is src/{exp} + common/)"
            )
        if path != root:
            print(f"warning: code is {path.relative_to(root)}/, which does not contain common/", file=err)


def stream(client, name: str, url: str, err) -> int:
    """Stream the job's logs; the exit code is 0 only when the job completed.

    Streaming can outlast the sign-in token (a CI token lasts about an hour). Azure then refuses the next
    poll with ClientAuthenticationError: that ends the streaming, not the job, so the message says so and
    where to follow the job, rather than "no usable Azure credential" (the sign-in did work at submission).
    """
    from azure.core.exceptions import AzureError, ClientAuthenticationError

    try:
        try:
            client.jobs.stream(name)
        except ClientAuthenticationError:
            raise
        except AzureError as exc:  # a failed job also raises here: its status decides the exit code
            print(f"warning: log streaming failed: {azure_workspace.one_line(exc)}", file=err)
        status = client.jobs.get(name).status
    except ClientAuthenticationError as exc:
        where = f"in the studio ({url}) or " if url else ""
        raise ScaffoldError(
            f"the Azure sign-in expired while streaming job {name} ({azure_workspace.one_line(exc)}); "
            f"the job keeps running in Azure ML: follow it {where}with "
            f"`az ml job stream -n {name} -g <resource group> -w <workspace>` once signed in again",
            1,
        ) from None
    except AzureError as exc:
        raise ScaffoldError(f"job status failed: {azure_workspace.one_line(exc)}") from None
    except KeyboardInterrupt:
        print(f"stopped streaming; job {name} keeps running: {url}", file=err)
        return 130
    if status != "Completed":
        raise ScaffoldError(f"job {name} finished with status {status}", 1)
    print(f"job {name} completed", file=err)
    return 0


# --- make data-asset ----------------------------------------------------------------------------------


def _data_path(name: str, path: str) -> tuple[Path, str]:
    """The checked NAME and PATH of a data asset: (absolute path, uri_file or uri_folder)."""
    if not name:
        raise ScaffoldError("NAME is required, e.g. make data-asset NAME=my-data PATH=data/my.csv")
    if not ASSET_NAME.match(name):
        raise ScaffoldError(f"invalid data asset name {name!r}: letters, digits, '-', '_' and '.'")
    if not path:
        raise ScaffoldError("PATH is required: a local file or folder, e.g. PATH=data/my.csv")
    local = Path(path).expanduser()
    if not local.exists():
        raise ScaffoldError(f"no such file or folder: {path}")
    local = local.resolve()
    kind = "uri_folder" if local.is_dir() else "uri_file"
    if kind == "uri_folder" and not any(p.is_file() for p in local.rglob("*")):
        raise ScaffoldError(f"{path} is an empty folder: nothing to register")
    return local, kind


def register_local_data(repo: Repo, name: str, path: str, version: str, out=None) -> int:
    """Record a local file or folder as a data asset that `make job ... XARGS=--local` resolves."""
    from scaffold.local_job import assets

    local, kind = _data_path(name, path)
    version = assets.register(repo, name, local, kind, version)
    print(
        f"recorded local data asset {name}:{version} ({kind}, {path}) in data/{assets.REGISTRY}; "
        f"`make job ... XARGS=--local` resolves azureml:{name}@latest to it",
        file=out or sys.stdout,
    )
    return 0


def register_data(
    repo: Repo,
    config: Config,
    name: str,
    path: str,
    version: str,
    dry_run: bool,
    description: str = "",
    out=None,
) -> int:
    """Register a local file (uri_file) or folder (uri_folder) as a data asset."""
    out = out or sys.stdout
    local, kind = _data_path(name, path)
    azure_workspace.quiet_sdk_logs()
    from azure.ai.ml.entities import Data

    asset = Data(
        name=name, version=version or None, path=str(local), type=kind, description=description or None
    )
    files = [local] if local.is_file() else [p for p in local.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    shown = f"version {version}" if version else "next version"
    print(f"{kind} {path}: {len(files)} files, {size / 1024:.1f} KiB, {shown}", file=out)
    if dry_run:
        print("# dry run: nothing registered", file=out)
        print(job_yaml.as_yaml(asset), file=out)
        return 0
    client = azure_workspace.ml_client(repo, config)
    created = azure_workspace.sdk_call("data asset registration", lambda: client.data.create_or_update(asset))
    print(
        f"registered data asset {created.name}:{created.version} ({kind}); use azureml:{created.name}@latest",
        file=out,
    )
    return 0


# --- make compute -------------------------------------------------------------------------------------


def ensure_compute(
    repo: Repo,
    config: Config,
    name: str,
    size: str,
    max_nodes: str,
    dry_run: bool,
    min_nodes: int = 0,
    idle: int = 0,
    identity: str = "system_assigned",
    identity_id: str = "",
    out=None,
) -> int:
    """Create or update an AmlCompute cluster (min 0 nodes by default, so it costs nothing when idle).

    The cluster gets a system-assigned managed identity by default: jobs with `identity: type: managed`
    (taxi_online, taxi_batch) sign in with it.
    """
    out = out or sys.stdout
    name = name or config.get("COMPUTE", "cpu-cluster")
    if not COMPUTE_NAME.match(name):
        raise ScaffoldError(
            f"invalid compute name {name!r}: 2-16 letters, digits or '-', starting with a letter"
        )
    try:
        maximum = int(max_nodes) if str(max_nodes).strip() else DEFAULT_MAX
    except ValueError:
        raise ScaffoldError(f"MAX must be a whole number of nodes, got {max_nodes!r}") from None
    if maximum < 1 or min_nodes < 0 or min_nodes > maximum:
        raise ScaffoldError(f"need 0 <= min ({min_nodes}) <= MAX ({maximum}) and MAX >= 1")
    azure_workspace.quiet_sdk_logs()
    from azure.ai.ml.entities import AmlCompute

    cluster = AmlCompute(
        name=name,
        size=size or DEFAULT_SIZE,
        min_instances=min_nodes,
        max_instances=maximum,
        idle_time_before_scale_down=idle or None,
        identity=compute_identity(identity, identity_id),
    )
    if dry_run:
        print("# dry run: nothing created", file=out)
        print(job_yaml.as_yaml(cluster), file=out)
        return 0
    client = azure_workspace.ml_client(repo, config)
    print(
        f"creating or updating compute {name} ({cluster.size}, {min_nodes}-{maximum} nodes)", file=sys.stderr
    )
    poller = azure_workspace.sdk_call(
        "compute creation", lambda: client.compute.begin_create_or_update(cluster)
    )
    result = azure_workspace.sdk_call("compute creation", poller.result)
    print(
        f"compute {result.name}: {result.size}, {result.min_instances}-{result.max_instances} nodes", file=out
    )
    return 0


def compute_identity(kind: str, resource_id: str = ""):
    """The cluster's managed identity: system-assigned, one user-assigned identity (by id), or none."""
    if kind not in IDENTITIES:
        raise ScaffoldError(f"--identity must be one of {', '.join(IDENTITIES)}, got {kind!r}")
    if kind != "user_assigned":
        if resource_id:
            raise ScaffoldError(f"--identity-id is only for --identity user_assigned, not {kind}")
        if kind == "none":
            return None
    elif not USER_IDENTITY_ID.match(resource_id):
        raise ScaffoldError(
            "--identity user_assigned needs --identity-id /subscriptions/<id>/resourceGroups/<group>/"
            "providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>, "
            f"got {resource_id or 'nothing'!r}"
        )
    from azure.ai.ml.entities import IdentityConfiguration, ManagedIdentityConfiguration

    if kind == "system_assigned":
        return IdentityConfiguration(type="system_assigned")
    return IdentityConfiguration(
        type="user_assigned", user_assigned_identities=[ManagedIdentityConfiguration(resource_id=resource_id)]
    )
