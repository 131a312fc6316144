"""Azure ML: workspace client, job submission from a staged snapshot, data assets and compute clusters.

`azure.ai.ml` and `azure.identity` are imported inside the functions that need them. Every network call
goes through the client returned by `ml_client`, which tests replace with a fake at the SDK boundary.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from scaffold import experiments, gitinfo, images, snapshot
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
DEFAULT_SIZE = "Standard_DS3_v2"
DEFAULT_MAX = 4
ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
COMPUTE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,14}[A-Za-z0-9]$")
REMOTE_PREFIXES = ("azureml:", "http://", "https://", "wasbs://", "abfss://", "adl://", "s3://", "gs://")


# --- workspace and credential -------------------------------------------------------------------------


def workspace_settings(repo: Repo, config: Config) -> dict[str, str]:
    """subscription_id, resource_group and workspace_name: environment > config.env > config.json."""
    from_json: dict = {}
    for candidate in (repo.root / "config.json", repo.root / ".azureml" / "config.json"):
        if candidate.is_file():
            try:
                from_json = json.loads(candidate.read_text(encoding="utf-8"))
            except (ValueError, OSError) as exc:
                raise ScaffoldError(
                    f"{candidate.relative_to(repo.root)}: not a valid Azure ML config.json ({exc})"
                )
            break
    settings = {}
    for env_key, json_key in WORKSPACE_KEYS:
        value = config.get(env_key) or str(
            from_json.get(json_key) or from_json.get(json_key.replace("_name", "")) or ""
        )
        settings[json_key] = value.strip()
    if not all(settings.values()):
        raise ScaffoldError(NOT_CONFIGURED)
    return settings


def _quiet_sdk_logs() -> None:
    """The SDK logs experimental-class notices and a long credential report; we print one line instead."""
    logging.getLogger("azure.identity").setLevel(logging.ERROR)
    logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)


def credential():
    """DefaultAzureCredential (az login, service principal variables, managed identity, ...), probed once.

    The probe asks for an ARM token before anything is uploaded, so a missing login is one line, not a
    stack trace halfway through an upload. Managed identity stays enabled (it is how jobs authenticate
    inside Azure); DefaultAzureCredential probes the instance metadata endpoint with a short timeout.
    """
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import CredentialUnavailableError, DefaultAzureCredential

    _quiet_sdk_logs()
    cred = DefaultAzureCredential()
    try:
        cred.get_token(ARM_SCOPE)
    except (ClientAuthenticationError, CredentialUnavailableError):
        raise ScaffoldError(NO_CREDENTIAL) from None
    return cred


def ml_client(repo: Repo, config: Config):
    """An MLClient for the configured workspace; settings and credential are checked first."""
    settings = workspace_settings(repo, config)
    cred = credential()
    from azure.ai.ml import MLClient

    return MLClient(
        cred,
        subscription_id=settings["subscription_id"],
        resource_group_name=settings["resource_group"],
        workspace_name=settings["workspace_name"],
    )


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _sdk_call(what: str, call):
    """Run one SDK call; Azure errors become one line."""
    from azure.core.exceptions import AzureError, ClientAuthenticationError

    try:
        return call()
    except ClientAuthenticationError:
        raise ScaffoldError(NO_CREDENTIAL) from None
    except AzureError as exc:
        raise ScaffoldError(f"{what} failed: {_one_line(exc)}") from None


# --- job YAML: parsing, overrides, errors ---------------------------------------------------------------


def parse_set(items: list[str]) -> list[dict[str, str]]:
    """`--set key=value` pairs as the SDK's params_override (values stay strings, as with `az ml`)."""
    overrides = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ScaffoldError(f"--set expects key=value, got {item!r}")
        overrides.append({key.strip(): value})
    return overrides


def read_yaml(path: Path, display: str) -> dict:
    """The YAML as data; syntax errors name the file, line and column."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise ScaffoldError(f"{display}{where}: invalid YAML: {problem}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ScaffoldError(f"{display}: invalid YAML: {_one_line(exc)}") from None
    if not isinstance(data, dict):
        raise ScaffoldError(
            f"{display}: expected a YAML mapping (an Azure ML job), got {type(data).__name__}"
        )
    return data


def _is_local(value) -> bool:
    return (
        isinstance(value, str)
        and bool(value)
        and "${{" not in value
        and not value.startswith(REMOTE_PREFIXES)
    )


def local_input_overrides(data: dict, yaml_dir: Path) -> list[dict[str, str]]:
    """Relative local input paths made absolute against the YAML's own folder in src/.

    The YAML is loaded from the snapshot, so `path: ../../data/x.csv` would otherwise point somewhere
    else; data inputs are uploaded from where `az ml job create` would take them.
    """
    overrides = []

    def visit(inputs, prefix: str) -> None:
        if not isinstance(inputs, dict):
            return
        for key, spec in inputs.items():
            if (
                isinstance(spec, dict)
                and _is_local(spec.get("path"))
                and not Path(spec["path"]).is_absolute()
            ):
                overrides.append({f"{prefix}{key}.path": str((yaml_dir / spec["path"]).resolve())})

    visit(data.get("inputs"), "inputs.")
    for node, spec in (data.get("jobs") or {}).items() if isinstance(data.get("jobs"), dict) else []:
        if isinstance(spec, dict):
            visit(spec.get("inputs"), f"jobs.{node}.inputs.")
    return overrides


def build_paths(data: dict) -> list[str]:
    """Relative environment build paths named in the YAML (job, pipeline steps, sweep trial)."""
    specs = [data, data.get("trial")]
    if isinstance(data.get("jobs"), dict):
        specs += list(data["jobs"].values())
    paths = []
    for spec in specs:
        env = spec.get("environment") if isinstance(spec, dict) else None
        build = env.get("build") if isinstance(env, dict) else None
        path = build.get("path") if isinstance(build, dict) else None
        if _is_local(path) and not Path(path).is_absolute():
            paths.append(path)
    return paths


def _decode_validation(message: str) -> list[tuple[tuple[str, ...], str]]:
    """(field path, message) pairs from the SDK's nested 'Validation for XSchema failed: {json}' text."""
    start = message.find("{", message.find("failed:") + 1 if "failed:" in message else 0)
    if start < 0:
        return []
    try:
        data, _ = json.JSONDecoder().raw_decode(message[start:])
    except ValueError:
        return []
    if isinstance(data, dict) and isinstance(data.get("errors"), list):
        found = []
        for error in data["errors"]:
            inner = str(error.get("message", ""))
            nested = _decode_validation(inner) if "failed:" in inner else []
            if nested:
                found += nested
            else:
                path = str(error.get("path") or "*")
                found.append((() if path == "*" else tuple(path.split(".")), inner.strip().splitlines()[0]))
        return found
    return list(_flatten(data, ()))


def _flatten(node, path: tuple[str, ...]):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _flatten(value, path if key == "_schema" else path + (str(key),))
    elif isinstance(node, list):
        if node and all(isinstance(item, str) for item in node):
            yield path, " ".join(node)
        elif node:  # alternatives of a union field: the first one is the one that was meant
            yield from _flatten(next(item for item in node if item), path)
    elif node is not None:
        yield path, str(node)


def _line_of(text: str, path: tuple[str, ...]) -> int | None:
    """Line (1-based) of the deepest key of `path` present in the YAML text."""
    import yaml

    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for key in path:
        if not isinstance(node, yaml.MappingNode):
            break
        match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == key), None)
        if match is None:
            break
        line, node = match[0].start_mark.line + 1, match[1]
    return line


def schema_error(exc: BaseException, yaml_text: str, display: str, overrides: list[dict]) -> ScaffoldError:
    """One line naming the file, the line and the field of the first schema errors."""
    message = str(getattr(exc, "message", None) or exc)
    found = _decode_validation(message)
    if not found:
        return ScaffoldError(f"{display}: {_one_line(exc)}")
    override_keys = {key for item in overrides for key in item}
    parts = []
    for path, text in found[:3]:
        dotted = ".".join(path)
        line = _line_of(yaml_text, path)
        origin = " (from --set)" if dotted in override_keys else ""
        where = f"{display}:{line}" if line and not origin else display
        parts.append(f"{where}: {dotted or 'job'}: {text}{origin}")
    more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
    return ScaffoldError("; ".join(parts) + more)


def load_job(path: Path, overrides: list[dict], display: str, replace: tuple[str, str] | None = None):
    """azure.ai.ml.load_job with overrides; schema errors become one line with file, line and field."""
    text = path.read_text(encoding="utf-8")
    _quiet_sdk_logs()
    from azure.ai.ml import load_job as sdk_load_job

    try:
        return sdk_load_job(path, params_override=overrides)
    except Exception as exc:  # noqa: BLE001 - the SDK raises marshmallow, azure and plain errors alike
        error = schema_error(exc, text, display, overrides)
        if replace:
            error = ScaffoldError(str(error).replace(*replace))
        raise error from None


def as_yaml(entity) -> str:
    """The entity as the SDK itself writes it to YAML, plus the job-level fields a command node omits."""
    import io

    import yaml

    buffer = io.StringIO()
    try:
        entity.dump(buffer)
        data = yaml.safe_load(buffer.getvalue())
    except Exception:  # noqa: BLE001 - a dump problem must not hide the dry run's result
        return str(entity)
    if not isinstance(data, dict):
        return buffer.getvalue().rstrip()
    extra = {}
    for key in ("name", "display_name", "experiment_name", "tags"):
        value = getattr(entity, key, None)
        if key not in data and isinstance(value, (str, dict)) and value:
            extra[key] = value
    return yaml.safe_dump({**extra, **data}, sort_keys=False).rstrip()


# --- where a loaded job's local files come from -------------------------------------------------------


def _nodes(job):
    """(component-like object with code/environment, base path) for every step of a job."""
    from azure.ai.ml.entities import Component, PipelineJob
    from azure.ai.ml.sweep import SweepJob

    base = Path(getattr(job, "_base_path", None) or ".")
    if isinstance(job, SweepJob):
        yield job.trial, base
    elif isinstance(job, PipelineJob):
        for node in job.jobs.values():
            component = getattr(node, "component", None)
            if isinstance(component, Component):
                yield component, Path(getattr(component, "_base_path", None) or base)
    else:
        component = getattr(job, "component", None)
        yield (component if isinstance(component, Component) else job), base


def _local(value, base: Path) -> Path | None:
    value = getattr(value, "path", value)
    if value is None or not _is_local(str(value)):
        return None
    return (base / str(value)).resolve()


def code_paths(job) -> list[Path]:
    """Absolute local code folders the SDK will upload for this job."""
    return [p for node, base in _nodes(job) if (p := _local(getattr(node, "code", None), base))]


def build_contexts(job) -> list[Path]:
    """Absolute local Docker build contexts of the job's environments."""
    found = []
    for node, base in _nodes(job):
        env = getattr(node, "environment", None)
        build = getattr(env, "build", None)
        if build is not None and (p := _local(getattr(build, "path", None), base)):
            found.append(p)
    return found


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


def submit_job(
    repo: Repo, config: Config, exp: str, file: str, options: JobOptions, out=None, err=None
) -> int:
    """Stage, validate, then (unless --dry-run) submit; see docs/azure.md."""
    out, err = out or sys.stdout, err or sys.stderr
    exp_dir = experiments.require(repo, exp)
    yaml_path = job_file(exp_dir, file)
    relative = PurePosixPath(yaml_path.relative_to(exp_dir.resolve()).as_posix())
    display = f"src/{exp}/{relative}"
    data = read_yaml(yaml_path, display)
    overrides = local_input_overrides(data, yaml_path.parent) + parse_set(options.overrides)
    force = [str(relative), *build_paths(data)]
    git = gitinfo.describe(repo.root, [exp_dir, repo.common])
    tags = {**git.tags(), **({"image_context_hash": h} if (h := image_context_hash(exp_dir)) else {})}
    name = options.name

    with snapshot.staged(exp_dir, repo.common, force) as snap:
        print(f"{snap.summary()} (src/{exp} + common/)", file=err)
        job = load_job(snap.root / relative, overrides, display, replace=(str(snap.root), f"src/{exp}"))
        _check_code(job, snap.root, exp, display, err)
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
            print(as_yaml(job), file=out)
            return 0
        client = ml_client(repo, config)
        print(f"submitting {job.name} to experiment {job.experiment_name}", file=err)
        created = _sdk_call("job submission", lambda: client.jobs.create_or_update(job))

    print(f"job: {created.name}", file=out)
    url = getattr(created, "studio_url", None) or ""
    print(f"studio: {url}", file=out)
    if options.web and url:
        import webbrowser

        webbrowser.open(url)
    if options.stream:
        return stream(client, created.name, url, err)
    return 0


def _check_code(job, root: Path, exp: str, display: str, err) -> None:
    root = root.resolve()  # code paths are resolved: compare like with like (/tmp may be a link)
    for path in code_paths(job):
        if not path.is_relative_to(root):
            raise ScaffoldError(
                f"{display}: code must be inside src/{exp} (the snapshot is src/{exp} + common/)"
            )
        if path != root:
            print(f"warning: code is {path.relative_to(root)}/, which does not contain common/", file=err)


def stream(client, name: str, url: str, err) -> int:
    """Stream the job's logs; the exit code is 0 only when the job completed."""
    try:
        _sdk_call("log streaming", lambda: client.jobs.stream(name))
    except ScaffoldError as exc:  # a failed job also raises here: its status decides the exit code
        print(f"warning: {exc}", file=err)
    except KeyboardInterrupt:
        print(f"stopped streaming; job {name} keeps running: {url}", file=err)
        return 130
    status = _sdk_call("job status", lambda: client.jobs.get(name)).status
    if status != "Completed":
        raise ScaffoldError(f"job {name} finished with status {status}", 1)
    print(f"job {name} completed", file=err)
    return 0


# --- make data-asset ----------------------------------------------------------------------------------


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
    _quiet_sdk_logs()
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
        print(as_yaml(asset), file=out)
        return 0
    client = ml_client(repo, config)
    created = _sdk_call("data asset registration", lambda: client.data.create_or_update(asset))
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
    out=None,
) -> int:
    """Create or update an AmlCompute cluster (min 0 nodes by default, so it costs nothing when idle)."""
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
    _quiet_sdk_logs()
    from azure.ai.ml.entities import AmlCompute

    cluster = AmlCompute(
        name=name,
        size=size or DEFAULT_SIZE,
        min_instances=min_nodes,
        max_instances=maximum,
        idle_time_before_scale_down=idle or None,
    )
    if dry_run:
        print("# dry run: nothing created", file=out)
        print(as_yaml(cluster), file=out)
        return 0
    client = ml_client(repo, config)
    print(
        f"creating or updating compute {name} ({cluster.size}, {min_nodes}-{maximum} nodes)", file=sys.stderr
    )
    poller = _sdk_call("compute creation", lambda: client.compute.begin_create_or_update(cluster))
    result = _sdk_call("compute creation", poller.result)
    print(
        f"compute {result.name}: {result.size}, {result.min_instances}-{result.max_instances} nodes", file=out
    )
    return 0
