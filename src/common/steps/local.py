"""The quick local run behind every taxi experiment's local.py: the pipeline YAML's steps, in one process.

The steps, their order and their arguments come from the experiment's pipeline YAML (azure-ml-job.yaml and
the components it names), so a step added there runs here too, with no list to keep in step. Each step's
command is run as written, its `${{...}}` bindings resolved to local folders: `python main.py <step> ...`
in this process (one MLflow parent run, a nested run per step), anything else with bash. The full rehearsal,
one container per step as Azure ML runs them, is `make job EXP=<experiment> XARGS=--local`.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from graphlib import TopologicalSorter
from pathlib import Path

import yaml

import common
from common.errors import DataError
from common.experiment import Experiment
from common.steps import main as run_step
from common.steps.io import EVALUATION, REGISTRATION, read_json

BINDING = re.compile(r"\$\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")
OPTIONAL = re.compile(r"\$\[\[(.*?)\]\]", re.DOTALL)
PARENT = re.compile(r"^\$\{\{\s*parent\.(inputs\.\w+|jobs\.\w+\.outputs\.\w+)\s*\}\}$")


def main(experiment: Experiment, argv: list[str] | None = None) -> int:
    """Parse local options and run the pipeline; `--name value` sets the pipeline or step input `name`.

    Data: every CSV/Parquet file under <data>/<experiment>/raw/; if there is none, a sample is generated
    there first. Outputs go to <data>/<experiment>/outputs/<step>/. <data> is $DATA_DIR or ../data (the
    repository's data/ folder, as mounted in the container).
    """
    parser = argparse.ArgumentParser(description=f"{experiment.name}: the pipeline's steps, in one process")
    parser.add_argument(
        "--raw_data", type=Path, default=None, help="file or folder (default: <data>/<exp>/raw)"
    )
    parser.add_argument("--rows", type=int, default=200_000, help="size of the generated sample, if needed")
    parser.add_argument("--pipeline", type=Path, default=Path("azure-ml-job.yaml"), help="the pipeline YAML")
    args, rest = parser.parse_known_args(argv)
    data_dir = Path(os.environ.get("DATA_DIR", "../data"))
    try:
        values = _options(rest)
        pipeline = _read(args.pipeline)
        raw = args.raw_data or find_or_generate(
            experiment, data_dir / experiment.name / "raw", args.rows, int(values.get("seed", 42))
        )
    except (DataError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return run_pipeline(experiment, pipeline, args.pipeline.parent, data_dir, raw, values)


def _options(rest: list[str]) -> dict[str, str]:
    """`--name value` pairs: values for the pipeline's inputs or its steps' inputs."""
    if len(rest) % 2 or not all(key.startswith("--") for key in rest[::2]):
        raise DataError(f"expected --name value pairs for pipeline or step inputs, got {shlex.join(rest)}")
    return {key[2:]: value for key, value in zip(rest[::2], rest[1::2])}


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"no pipeline YAML {path} in {Path.cwd()}") from None
    if not isinstance(data, dict) or data.get("type") != "pipeline":
        raise DataError(f"{path} is not a pipeline job YAML")
    return data


def _component(spec, folder: Path) -> dict:
    """A step's component: inline, or a file named as in the staged snapshot (common/ beside the YAML)."""
    if isinstance(spec, dict):
        return spec
    relative = Path(str(spec))
    parts = relative.parts[1:] if relative.parts[:1] == (".",) else relative.parts
    path = (
        Path(common.__file__).parent.joinpath(*parts[1:]) if parts[:1] == ("common",) else folder / relative
    )
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def find_or_generate(experiment: Experiment, raw_dir: Path, rows: int, seed: int) -> Path:
    """The raw data folder; when it holds no CSV/Parquet file, generate a sample in it and say so."""
    from common.data import SUFFIXES
    from common.generator import write_trips

    if raw_dir.is_dir() and any(p.suffix.lower() in SUFFIXES for p in raw_dir.rglob("*") if p.is_file()):
        print(f"local: using the data in {raw_dir}")
        return raw_dir
    sample = raw_dir / "sample.parquet"
    print(f"local: no CSV/Parquet file in {raw_dir}; generating {rows} {experiment.city.name} sample trips")
    try:
        write_trips(sample, experiment.city, rows, seed=seed, dirty_fraction=0.002)
    except OSError as exc:  # read-only or full data folder; pyarrow's own text names a temporary file
        reason = os.strerror(exc.errno) if exc.errno else str(exc).splitlines()[0]
        raise DataError(f"no data in {raw_dir}, and a sample cannot be written there: {reason}") from None
    print(f"local: wrote {sample} (put your own files in {raw_dir} to use them instead)")
    return raw_dir


def _render(command: str, values: dict[str, str]) -> str:
    """The command, bindings replaced; an optional `$[[...]]` part only when its inputs have values."""

    def optional(match: re.Match) -> str:
        names = BINDING.findall(match[1])
        return BINDING.sub(lambda m: values[m[1]], match[1]) if all(n in values for n in names) else ""

    return BINDING.sub(lambda m: values[m[1]], OPTIONAL.sub(optional, command)).strip()


def run_pipeline(
    experiment: Experiment, pipeline: dict, folder: Path, data_dir: Path, raw: Path, values: dict[str, str]
) -> int:
    """Run the steps in dependency order under one parent run; print metrics, version and run."""
    import mlflow

    from common import tracking

    jobs = {
        name: {**node, "component": _component(node["component"], folder)}
        for name, node in pipeline["jobs"].items()
    }
    # The pipeline's data inputs are the local raw data; its literals keep their values unless given.
    parent = {
        key: str(raw) if isinstance(spec, dict) else str(spec)
        for key, spec in pipeline.get("inputs", {}).items()
    }
    parent.update({key: value for key, value in values.items() if key in parent})
    used = set(values) & set(parent)
    outputs = _output_folders(jobs, data_dir / experiment.name / "outputs")
    needs, commands = {}, {}
    for name, node in jobs.items():
        component, step_values, needs[name] = node["component"], {}, set()
        for key, spec in (component.get("inputs") or {}).items():
            given = (node.get("inputs") or {}).get(
                key, spec.get("default") if isinstance(spec, dict) else None
            )
            if key in values:
                given = values[key]
                used.add(key)
            match = PARENT.match(given) if isinstance(given, str) else None
            if match and match[1].startswith("inputs."):
                given = parent.get(match[1].split(".")[1])
            elif match:
                given = outputs[match[1]]
                needs[name].add(match[1].split(".")[1])
            if given is not None:
                step_values[f"inputs.{key}"] = str(given)
        for output in component.get("outputs") or {}:
            step_values[f"outputs.{output}"] = str(outputs[f"jobs.{name}.outputs.{output}"])
        commands[name] = _render(component["command"], step_values)
    unused = sorted(set(values) - used)
    if unused:
        print(f"error: no pipeline or step input called {', '.join(unused)}", file=sys.stderr)
        return 2
    name = tracking.use_local_store(data_dir, experiment.name)
    with mlflow.start_run(run_name=f"{experiment.name} local pipeline", tags=tracking.run_tags()) as run:
        mlflow.set_tag("data", str(raw))
        for step in TopologicalSorter(needs).static_order():
            argv = shlex.split(commands[step])
            if argv[:2] == ["python", "main.py"]:
                code = run_step(argv[2:], experiment)
            else:
                code = subprocess.run(["bash", "-c", commands[step]]).returncode
            if code:
                mlflow.set_tag("failed_step", step)
                return code
    _report(experiment, name, run.info.run_id, list(outputs.values()))
    return 0


def _output_folders(jobs: dict, out: Path) -> dict[str, Path]:
    """`jobs.<step>.outputs.<name>` -> <out>/<step>, or <out>/<step>/<name> when a step has several."""
    folders = {}
    for name, node in jobs.items():
        names = list(node["component"].get("outputs") or {})
        for output in names:
            folders[f"jobs.{name}.outputs.{output}"] = out / name if len(names) == 1 else out / name / output
    return folders


def _report(experiment: Experiment, mlflow_experiment: str, run_id: str, folders: list[Path]) -> None:
    """The closing summary: test metrics, what happened in the registry, where to look."""
    result = next((read_json(f / EVALUATION) for f in folders if (f / EVALUATION).is_file()), None)
    registered = next((read_json(f / REGISTRATION) for f in folders if (f / REGISTRATION).is_file()), None)
    if result:
        metrics = result["test"]
        print(
            f"\n{experiment.name} test metrics ({result['currency']}): "
            + ", ".join(f"{key} {metrics[key]:.4f}" for key in ("r2", "mse", "rmse", "mae"))
        )
    if registered and registered["registered"]:
        print(f"registered model: {registered['model_name']} version {registered['version']}")
    elif registered:
        reason = result["reason"] if result else "see the evaluate step"
        print(f"not registered: {reason}; {registered['model_name']} v{registered['version']} stays")
    print(
        f"run: experiment {mlflow_experiment}, run id {run_id}; "
        "see it with `make mlflow-ui` (http://127.0.0.1:5000)"
    )
