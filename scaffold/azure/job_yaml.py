"""Job YAML: reading, `--set` overrides, the SDK's own loader, schema errors with file and line, and
the local code folders and build contexts a loaded job refers to."""

from __future__ import annotations

import json
import logging
import posixpath
import re
import sys
from pathlib import Path, PurePosixPath
from typing import Callable

from scaffold.azure.workspace import one_line, quiet_sdk_logs
from scaffold.errors import ScaffoldError

SDK_LOGGER = "azure.ai.ml"
REMOTE_PREFIXES = ("azureml:", "http://", "https://", "wasbs://", "abfss://", "adl://", "s3://", "gs://")
INPUT_VALUE = re.compile(r"(jobs\.[^.]+\.)?inputs\.[^.]+(\.(value|default|path))?")
INPUT_PATH = re.compile(r"(jobs\.[^.]+\.)?inputs\.[^.]+\.path")


def parse_set(items: list[str]) -> list[dict[str, str]]:
    """`--set key=value` pairs as the SDK's params_override (values stay strings, as with `az ml`). An
    empty input value is refused: Azure ML refuses empty literal inputs (docs/azure.md)."""
    overrides = []
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScaffoldError(f"--set expects key=value, got {item!r}")
        if not value.strip() and INPUT_VALUE.fullmatch(key):
            raise ScaffoldError(
                f"--set {key}: empty value; Azure ML refuses an empty input (leave the --set out, "
                "or make the input optional with $[[...]] in the command)"
            )
        overrides.append({key: value})
    return overrides


def set_paths(overrides: list[dict[str, str]], yaml_dir: Path, shown_dir: str) -> list[dict[str, str]]:
    """`--set inputs.<name>.path=<local path>` (also in pipeline steps); a relative one is made absolute
    against the YAML's folder in src/, as `az ml job create --file ... --set` reads it (the SDK applies
    overrides before loading, with the YAML's folder as base path); a missing file or folder is an error."""
    resolved = []
    for item in overrides:
        [(key, value)] = item.items()
        if INPUT_PATH.fullmatch(key) and _is_local(value):
            path = (yaml_dir / value).resolve()  # an absolute path stays as it is
            if not path.exists():
                where = "" if Path(value).is_absolute() else f" (relative to {shown_dir}/)"
                raise ScaffoldError(f"--set {key}: no such file or folder {value}{where}")
            item = {key: str(path)}
        resolved.append(item)
    return resolved


def check_set_keys(data: dict, job, keys: list[str], display: str) -> None:
    """`--set` keys naming an input, output or pipeline step the job does not have are errors: the SDK's
    loader keeps or drops them without a word (a step's unknown input vanishes, `jobs.<new>` becomes a
    step). Job-level names must be declared in the YAML or bound in it (`${{inputs.x}}` in the command,
    `${{parent.inputs.x}}` in a step); a step's must be its component's. Other keys are the SDK's to judge."""
    steps = _steps(data) if isinstance(data.get("jobs"), dict) else None
    for key in keys:
        parts = key.split(".")
        if parts[0] in ("inputs", "outputs") and len(parts) > 1:
            known = _job_names(data, parts[0], steps is not None)
            if parts[1] not in known:
                raise ScaffoldError(
                    f"--set {key}: {display} has no {parts[0][:-1]} {parts[1]} ({_its(parts[0], known)})"
                )
        elif parts[0] == "jobs" and steps is not None and len(parts) > 1:
            if parts[1] not in steps:
                raise ScaffoldError(
                    f"--set {key}: the pipeline has no step {parts[1]} ({_its('steps', steps)})"
                )
            if len(parts) > 3 and parts[2] in ("inputs", "outputs"):
                node = (getattr(job, "jobs", None) or {}).get(parts[1])
                known = _step_names(steps[parts[1]], node, parts[2])
                if known is not None and parts[3] not in known:
                    raise ScaffoldError(
                        f"--set {key}: step {parts[1]} has no {parts[2][:-1]} {parts[3]} "
                        f"({_its(parts[2], known)})"
                    )


def _its(family: str, names) -> str:
    return f"its {family}: {', '.join(sorted(names))}" if names else f"it has no {family}"


def _bound(spec, family: str, parent: bool) -> set[str]:
    """Names bound as ${{inputs.x}} (${{parent.inputs.x}} for a pipeline's own) anywhere in `spec`."""
    prefix = r"parent\." if parent else ""
    return set(re.findall(rf"\$\{{\{{\s*{prefix}{family}\.(\w+)\s*\}}\}}", json.dumps(spec, default=str)))


def _job_names(data: dict, family: str, pipeline: bool) -> set[str]:
    declared = data.get(family) if isinstance(data.get(family), dict) else {}
    bound = _bound(data.get("jobs") if pipeline else data, family, pipeline)
    return set(declared) | bound


def _step_names(step: dict, node, family: str) -> set[str] | None:
    """A step's input or output names: its component's (a file, read by the SDK, or inline), or for an
    inline step (command, sweep) the ones it declares or binds; None when the component is not local."""
    if "component" not in step:
        declared = step.get(family) if isinstance(step.get(family), dict) else {}
        return set(declared) | _bound(step, family, False)
    names = getattr(getattr(node, "component", None), family, None)
    return set(names) if isinstance(names, dict) else None


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
        raise ScaffoldError(f"{display}: invalid YAML: {one_line(exc)}") from None
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a YAML {type(data).__name__}"
        raise ScaffoldError(f"{display}: expected a YAML mapping (an Azure ML job), got {got}")
    return data


def _is_local(value) -> bool:
    return (
        isinstance(value, str)
        and bool(value)
        and "${{" not in value
        and not value.startswith(REMOTE_PREFIXES)
    )


def _relative_local(value) -> bool:
    return _is_local(value) and not Path(value).is_absolute()


def _steps(data: dict) -> dict[str, dict]:
    """A pipeline's steps by name (none for other jobs)."""
    jobs = data.get("jobs") if isinstance(data.get("jobs"), dict) else {}
    return {name: step for name, step in jobs.items() if isinstance(step, dict)}


def local_input_overrides(data: dict, yaml_dir: Path) -> list[dict[str, str]]:
    """Relative local input paths made absolute against the YAML's own folder in src/, where `az ml job
    create` would take them from (the YAML is loaded from the snapshot, where they would point elsewhere)."""
    inputs = [("inputs.", data.get("inputs"))]
    inputs += [(f"jobs.{name}.inputs.", step.get("inputs")) for name, step in _steps(data).items()]
    return [
        {f"{prefix}{key}.path": str((yaml_dir / spec["path"]).resolve())}
        for prefix, specs in inputs
        if isinstance(specs, dict)
        for key, spec in specs.items()
        if isinstance(spec, dict) and _relative_local(spec.get("path"))
    ]


def build_paths(data: dict) -> list[str]:
    """Relative environment build paths named in the YAML (job, pipeline steps and their inline
    components, sweep trial)."""
    steps = list(_steps(data).values())
    paths = []
    for spec in [data, data.get("trial"), *steps, *(step.get("component") for step in steps)]:
        env = spec.get("environment") if isinstance(spec, dict) else None
        build = env.get("build") if isinstance(env, dict) else None
        path = build.get("path") if isinstance(build, dict) else None
        if _relative_local(path):
            paths.append(path)
    return paths


def staged_paths(data: dict, relative: PurePosixPath, read: Callable[[str], dict | None]) -> list[str]:
    """Snapshot paths the SDK reads besides the code upload: the YAML, its build contexts, the local
    component files its steps name and their build contexts (relative to each component file, as the SDK
    resolves them). `read` gives a component file's data from its snapshot path, or None when there is
    no such file (the SDK's loader then names it); paths leaving the snapshot are left to the SDK."""
    here = relative.parent
    found = [relative] + [here / path for path in build_paths(data)]
    refs = [ref for step in _steps(data).values() if _relative_local(ref := step.get("component"))]
    for component in (PurePosixPath(posixpath.normpath(here / ref)) for ref in refs):
        if component.parts[0] != ".." and (spec := read(component.as_posix())) is not None:
            found += [component] + [component.parent / path for path in build_paths(spec)]
    normal = [posixpath.normpath(path) for path in found]
    return list(dict.fromkeys(path for path in normal if path != ".." and not path.startswith("../")))


def field_errors(exc: BaseException) -> list[tuple[tuple[str, ...], str]]:
    """(field path, message) pairs from marshmallow's `{field: [messages]}` behind the SDK's error: for
    command and sweep jobs the SDK re-raises its ValidationError as text, so they are further down the
    exception chain. Only public attributes are read; tests/test_job.py
    (test_sdk_validation_errors_keep_marshmallow_messages) pins the shape for azure-ai-ml 1.35.2."""
    from marshmallow import ValidationError

    while exc is not None:
        if isinstance(exc, ValidationError) and isinstance(exc.messages, dict):
            return list(_flatten(exc.messages, ()))
        exc = exc.__cause__ or exc.__context__
    return []


def _flatten(node, path: tuple[str, ...]):
    """marshmallow's nested messages as (path, text); `_schema` and a Dict field's `key`/`value` are not
    fields of the YAML."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _flatten(
                value, path if key in ("_schema", "key", "value", None) else path + (str(key),)
            )
    elif isinstance(node, list):
        if node and all(isinstance(item, str) for item in node):
            yield path, " ".join(node)
        elif node:  # alternatives of a union field: the one that got as far as a nested field was meant
            fields = [item for item in node if isinstance(item, dict) and set(item) - {"_schema"}]
            if fields:
                yield from _flatten(fields[0], path)
            else:
                texts = [text for item in node for _, text in _flatten(item, path)]
                yield path, "; ".join(dict.fromkeys(texts))
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


def schema_error(exc: BaseException, yaml_text: str, display: str, overrides: list[dict]) -> str:
    """One line naming the file, the line and the field of the first schema errors."""
    found = field_errors(exc)
    if not found:
        return f"{display}: {one_line(exc)}"
    override_keys = {key for item in overrides for key in item}
    parts = []
    for path, text in found[:3]:
        dotted = ".".join(path)
        line = _line_of(yaml_text, path)
        from_set = any(key == dotted or key.startswith(f"{dotted}.") for key in override_keys)
        origin = " (from --set)" if dotted and from_set else ""
        where = f"{display}:{line}" if line and not origin else display
        parts.append(f"{where}: {dotted or 'job'}: {text}{origin}")
    more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
    return "; ".join(parts) + more


def load_job(path: Path, overrides: list[dict], display: str, replace: tuple[str, str] = ("", "")):
    """azure.ai.ml.load_job with overrides; schema errors become one line with file, line and field.
    `replace` (old, new) is applied to its messages (the snapshot's path shown as src/EXP)."""
    text = path.read_text(encoding="utf-8")
    quiet_sdk_logs()
    from logging.handlers import BufferingHandler

    from azure.ai.ml import load_job as sdk_load_job

    # The SDK logs warnings ("Warnings: [...]") for problems it then often raises as errors: hold back
    # what its loggers say, and show it as warning lines only when the job loads.
    held = BufferingHandler(sys.maxsize)  # never flushes: the records stay in held.buffer
    held.setLevel(logging.WARNING)
    logger = logging.getLogger(SDK_LOGGER)
    logger.addHandler(held)
    propagate, logger.propagate = logger.propagate, False
    try:
        job = sdk_load_job(path, params_override=overrides)
    except Exception as exc:  # noqa: BLE001 - the SDK raises marshmallow, azure and plain errors alike
        raise ScaffoldError(schema_error(exc, text, display, overrides).replace(*replace)) from None
    finally:
        logger.removeHandler(held)
        logger.propagate = propagate
    for record in held.buffer:
        line = " ".join(record.getMessage().split()).replace(*replace)
        print(f"warning: {display}: {line}", file=sys.stderr)
    return job


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
    extra = {key: getattr(entity, key, None) for key in ("name", "display_name", "experiment_name", "tags")}
    extra = {k: v for k, v in extra.items() if k not in data and v and isinstance(v, (str, dict))}
    return yaml.safe_dump({**extra, **data}, sort_keys=False).rstrip()


def _nodes(job):
    """(component-like object with code/environment, base path) for every step of a job."""
    from azure.ai.ml.entities import Component, PipelineJob
    from azure.ai.ml.sweep import SweepJob

    base = Path(job.base_path or ".")
    if isinstance(job, SweepJob):
        yield job.trial, base
    elif isinstance(job, PipelineJob):
        for node in job.jobs.values():
            component = getattr(node, "component", None)
            if isinstance(component, Component):
                yield component, Path(component.base_path or base)
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
    envs = [(getattr(node, "environment", None), base) for node, base in _nodes(job)]
    return [p for env, base in envs if (p := _local(getattr(env, "build", None), base))]
