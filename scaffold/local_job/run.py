"""`make job EXP=x XARGS=--local`: run the job YAML on the laptop as Azure ML would run it.

The YAML is staged and loaded exactly as for a submission (the SDK's loader, the same `--set` overrides), then
read back as the SDK writes it. Each step gets the experiment's image (built as `make build-exp` builds it),
a copy of the staged snapshot as its working directory, its inputs and outputs mounted, its command with the
bindings resolved, and the MLflow variables Azure ML sets, pointing at the offline stand-in of Azure ML's
MLflow service. Pipeline steps start as soon as the steps they read from are done, each in its own
container. Everything a job writes stays under data/.jobs/<job name>/: one folder per step with its outputs,
`.logs/<step>.log` and `.wd/<step>/` (the working directory, with what the step left in it). When a step
ends, whatever its outcome, what it wrote to `./outputs` and `./logs` there becomes artifacts of its run, as
Azure ML uploads them (Learn, "Train models with the Azure Machine Learning CLI": "If you write any files to
these directories during your job, these files will get uploaded to the job's run history"; `./logs` is
uploaded as it is written there, here at the end too).
"""

from __future__ import annotations

import shutil
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from scaffold import gitinfo, images
from scaffold.config import Config
from scaffold.errors import ScaffoldError
from scaffold.local_job import assets, bindings
from scaffold.local_job.steps import WARM_LIMIT, Containers, Step, imported_packages
from scaffold.local_job.workspace import Workspace, workspace
from scaffold.paths import Repo

JOBS = ".jobs"
DATA_TYPES = {"uri_file", "uri_folder", "mltable"}
MLFLOW_STATUS = {"Completed": "FINISHED", "Failed": "FAILED", "Canceled": "KILLED"}
RUN_FOLDERS = ("outputs", "logs")  # what Azure ML uploads from a step's working directory to its run


@dataclass
class LocalOptions:
    overrides: list[str] = field(default_factory=list)
    name: str = ""
    serve: bool = False
    max_trials: int = 3


def run(repo: Repo, config: Config, exp: str, file: str, options: LocalOptions, out=None, err=None) -> int:
    """Stage and load the job as `make job` does, then run it here; the exit code is the job's outcome."""
    from scaffold.azure.jobs import default_name, staged_job

    out, err = out or sys.stdout, err or sys.stderr
    git = gitinfo.describe(repo.root, [repo.experiment(exp), repo.common])
    with ExitStack() as stack:
        with ThreadPoolExecutor(1) as starter:  # the MLflow service starts while the SDK loads the YAML
            service = starter.submit(stack.enter_context, workspace(repo))
            with staged_job(repo, exp, file, options.overrides, err) as (snap, job, display):
                spec = _as_data(job)
                name = options.name or default_name(exp, git)
                run_dir = _new_run_dir(repo, name)
                job_run = LocalJob(
                    repo, config, service.result(), exp, name, display, snap.root, _code_files(snap), run_dir,
                    out, err,
                )  # fmt: skip
                try:
                    return job_run.start(spec, git.tags(), options)
                except BaseException:
                    if not job_run.ran:  # nothing ran: leave no trace of the job
                        shutil.rmtree(run_dir, ignore_errors=True)
                    raise


def _order(needs: dict[str, set[str]]) -> list[str]:
    """The steps in an order where each comes after the steps it reads from (as the studio draws them)."""
    from graphlib import TopologicalSorter

    return list(TopologicalSorter(needs).static_order())


def _code_files(snap) -> list[str]:
    """The snapshot's files the code upload holds (the Docker build context is only built from)."""
    return [path for path in snap.files if path not in snap.build_only]


def _as_data(job) -> dict:
    """The job as the SDK writes it: plain data, with --set applied and component files read in."""
    import io

    import yaml

    buffer = io.StringIO()
    job.dump(buffer)
    return bindings.typed_literals(job, yaml.safe_load(buffer.getvalue()))


def _new_run_dir(repo: Repo, name: str) -> Path:
    """data/.jobs/<name>, which must be new: job names are unique in a workspace; nothing is overwritten."""
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ScaffoldError(f"invalid job name {name!r}: letters, digits, '-' and '_'")
    run_dir = repo.data / JOBS / name
    try:
        run_dir.mkdir(parents=True)
    except FileExistsError:
        raise ScaffoldError(
            f"a local job called {name} exists already ({run_dir}); choose another --name"
        ) from None
    return run_dir


class LocalJob:
    """One local job: its steps, their images, containers and runs, and the summary at the end."""

    def __init__(self, repo, config, ws, exp, name, display, snap_root, code_files, run_dir, out, err):
        self.ws: Workspace = ws
        self.repo, self.config, self.exp, self.name, self.display = repo, config, exp, name, display
        self.snap_root, self.code_files, self.run_dir = snap_root, code_files, run_dir
        self.out, self.err = out, err
        self.images: dict[str, str] = {}
        self.ran = False  # whether any step's container started

    def start(self, spec: dict, tags: dict, options: LocalOptions) -> int:
        kind = spec.get("type")
        if kind == "pipeline":
            return self.pipeline(spec, tags)
        if kind == "command":
            return self.command(spec, tags, options)
        if kind == "sweep":
            return self.sweep(spec, tags, options)
        raise ScaffoldError(
            f"{self.display}: a {kind} job does not run locally; command, pipeline and sweep jobs do"
        )

    # --- the job types ----------------------------------------------------------------------------------

    def command(self, spec: dict, tags: dict, options: LocalOptions) -> int:
        from scaffold.local_job import deploy

        kind, deployment = deploy.detect(self.snap_root)
        if kind:
            inputs = {k: self._deploy_input(v) for k, v in (spec.get("inputs") or {}).items()}
            print(
                f"{self.exp} deploys to an Azure ML {kind} endpoint: emulating its deployment here",
                file=self.err,
            )
            return deploy.run(
                self.repo,
                self.config,
                self.exp,
                kind,
                deployment,
                inputs,
                self.run_dir,
                self.ws.uri,
                options.serve,
            )
        component = spec.get("component") if isinstance(spec.get("component"), dict) else {}
        node = {**component, **{k: v for k, v in spec.items() if k != "component"}}
        node["inputs"] = self.parent_values(spec.get("inputs") or {})
        node["component_inputs"] = component.get("inputs") or {}
        ws = self.ws
        experiment = spec.get("experiment_name") or self.exp
        experiment_id = ws.experiment(experiment)
        run_name = spec.get("display_name") or self.name
        step = self.make_step("job", node)
        step.run_id = ws.start_run(experiment_id, run_name, {**tags, "azureml.job": self.name})
        step.env.update(ws.step_env(experiment, experiment_id, step.run_id))
        return self._execute({"job": step}, {"job": set()}, ws, continue_on_failure=False, prefix=False)

    def pipeline(self, spec: dict, tags: dict) -> int:
        parent_inputs = self.parent_values(spec.get("inputs") or {})
        nodes = spec.get("jobs") or {}
        settings = spec.get("settings") or {}
        ws = self.ws
        experiment = spec.get("experiment_name") or self.exp
        experiment_id = ws.experiment(experiment)
        parent = ws.start_run(
            experiment_id, spec.get("display_name") or self.name, {**tags, "azureml.job": self.name}
        )
        steps, needs = {}, {}
        try:
            for step_name, node in nodes.items():
                if node.get("type", "command") != "command":
                    raise ScaffoldError(
                        f"{self.display}: step {step_name} is a {node.get('type')} step; only command "
                        "steps run locally"
                    )
                component = node.get("component")
                if not isinstance(component, dict):
                    raise ScaffoldError(
                        f"{self.display}: step {step_name} uses the registered component {component}; "
                        "locally, components come from a file or are inline"
                    )
                resolved, needs[step_name] = self._node_inputs(step_name, node, parent_inputs, nodes)
                merged = {
                    **component,
                    **{k: v for k, v in node.items() if k not in ("component", "inputs")},
                }
                merged["inputs"], merged["component_inputs"] = resolved, component.get("inputs") or {}
                merged["outputs"] = {**(component.get("outputs") or {}), **(node.get("outputs") or {})}
                steps[step_name] = self.make_step(step_name, merged)
            for step_name, step in steps.items():
                step.run_id = ws.start_run(
                    experiment_id, nodes[step_name].get("display_name") or step_name, tags, parent
                )
                step.env.update(ws.step_env(experiment, experiment_id, step.run_id))
            code = self._execute(
                steps, needs, ws, bool(settings.get("continue_on_step_failure")), prefix=True
            )
        except ScaffoldError:
            ws.end_run(parent, "FAILED")
            raise
        except BaseException:
            ws.end_run(parent, "KILLED")
            raise
        ws.end_run(parent, "FINISHED")
        print(
            f"pipeline run: {parent} in experiment {experiment} (make mlflow-ui EXP={experiment})",
            file=self.out,
        )
        return code

    def sweep(self, spec: dict, tags: dict, options: LocalOptions) -> int:
        from scaffold.local_job.sweep_run import run_sweep

        return run_sweep(self, spec, tags, options)

    # --- inputs ----------------------------------------------------------------------------------------

    def parent_values(self, inputs: dict) -> dict:
        """Job-level inputs: data inputs as (host path, type), literals as strings."""
        return {name: self._value(f"inputs.{name}", value) for name, value in inputs.items()}

    def _value(self, where: str, value):
        if isinstance(value, dict) and (value.get("type") in DATA_TYPES or "path" in value):
            kind = value.get("type", "uri_folder")
            path = str(value.get("path") or "")
            if path.startswith("azureml:/") and not path.startswith("azureml://"):
                path = path[len("azureml:") :]  # how the SDK writes a pipeline step's local path back
            if kind not in DATA_TYPES:
                raise ScaffoldError(
                    f"{self.display}: {where} is a {kind} input; locally, data inputs are files and folders"
                )
            if assets.is_reference(path):
                host, _, _ = assets.resolve(self.repo, path)
            elif "://" in path:
                raise ScaffoldError(
                    f"{self.display}: {where} is {path}, which is not on this machine; "
                    "use a local path or a local data asset"
                )
            else:
                host = Path(path)
                if not host.exists():
                    raise ScaffoldError(f"{self.display}: {where}: no such file or folder {path}")
            return (host.resolve(), kind)
        if isinstance(value, dict):
            value = value.get("default", value.get("value"))
        return bindings.literal(value)

    def _deploy_input(self, value) -> str:
        """A deployment job's input as a string: a local data asset becomes its path."""
        value = self._value("input", value)
        if isinstance(value, tuple):
            return str(value[0])
        return str(assets.resolve(self.repo, value)[0]) if assets.is_reference(value) else value

    def _node_inputs(self, step_name: str, node: dict, parent_inputs: dict, nodes: dict):
        """A pipeline step's inputs with their bindings resolved, and the steps it reads from."""
        resolved, needs = {}, set()
        for name, value in (node.get("inputs") or {}).items():
            binding = value.get("path") if isinstance(value, dict) and len(value) == 1 else value
            text = binding if isinstance(binding, str) else ""
            if match := bindings.PARENT_INPUT.match(text):
                if match[1] in parent_inputs:
                    resolved[name] = parent_inputs[match[1]]
            elif match := bindings.PARENT_OUTPUT.match(text):
                source, output = match[1], match[2]
                outputs = (nodes.get(source, {}).get("component") or {}).get("outputs") or {}
                if output not in outputs:
                    raise ScaffoldError(
                        f"{self.display}: step {step_name} reads {source}.outputs.{output}, "
                        "which does not exist"
                    )
                resolved[name] = (self.run_dir / source / output, "uri_folder")
                needs.add(source)
            else:
                resolved[name] = self._value(f"jobs.{step_name}.inputs.{name}", value)
        return resolved, needs

    # --- steps -----------------------------------------------------------------------------------------

    def _image(self, environment) -> str:
        """The step's image: a build context is built as `make build-exp` builds it; an image is used."""
        if isinstance(environment, dict) and isinstance(environment.get("build"), dict):
            context = Path(environment["build"]["path"])
            key = str(context)
            if key not in self.images:
                base = self.config.get("BASE_IMAGE")
                spec = images.ImageSpec(
                    self.exp, context, {"BASE_IMAGE": base} if base else {}, {"scaffold.experiment": self.exp}
                )
                self.images[key] = images.ensure(spec, out=self.err)
            return self.images[key]
        if isinstance(environment, dict) and environment.get("image"):
            return environment["image"]
        raise ScaffoldError(
            f"{self.display}: the environment {environment} lives in Azure ML; locally, environments are "
            "`build: path: docker` or `image: ...`"
        )

    def make_step(self, name: str, node: dict, values: dict[str, str] | None = None) -> Step:
        """A step with its working directory, outputs, mounts, variables and resolved command."""
        workdir = self.run_dir / ".wd" / name
        self._copy_code(workdir)
        step = Step(
            name, "", self._image(node.get("environment")), workdir, self.run_dir / ".logs" / f"{name}.log"
        )
        values = dict(values or {})
        for input_name, spec in (node.get("component_inputs") or {}).items():
            value = node["inputs"].get(input_name)
            if value is None and isinstance(spec, dict) and "default" in spec:
                value = bindings.literal(spec["default"])
            if value is None:
                if isinstance(spec, dict) and spec.get("optional"):
                    continue
                raise ScaffoldError(f"{self.display}: step {name}: input {input_name} has no value")
            values[f"inputs.{input_name}"] = self._bind_input(step, input_name, value)
        for input_name, value in node["inputs"].items():  # inputs a command job declares by value only
            if f"inputs.{input_name}" not in values:
                values[f"inputs.{input_name}"] = self._bind_input(step, input_name, value)
        for output_name in node.get("outputs") or {}:
            host = self.run_dir / name / output_name
            host.mkdir(parents=True, exist_ok=True)
            step.outputs[output_name] = (host, step.output_path(output_name))
            values[f"outputs.{output_name}"] = step.output_path(output_name)
        step.command = bindings.render(node.get("command") or "", values, f"{self.display}: step {name}")
        step.extra_mounts[self.repo.mlruns] = str(self.repo.mlruns)
        step.env = {
            "HOME": "/tmp",
            "PYTHONUNBUFFERED": "1",
            "MPLCONFIGDIR": "/tmp/matplotlib",
            **{k: str(v) for k, v in (node.get("environment_variables") or {}).items()},
        }
        return step

    def _bind_input(self, step: Step, name: str, value) -> str:
        if isinstance(value, tuple):
            host, _kind = value
            inside = step.input_path(name, host)
            step.inputs[name] = (host, inside)
            return inside
        return value

    def _copy_code(self, workdir: Path) -> None:
        """The step's working directory: the code Azure ML would upload (the build context stays out)."""
        for relative in self.code_files:
            target = workdir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.snap_root / relative, target)
        workdir.mkdir(parents=True, exist_ok=True)

    # --- running ---------------------------------------------------------------------------------------

    def _execute(
        self, steps: dict, needs: dict, ws: Workspace, continue_on_failure: bool, prefix: bool
    ) -> int:
        """Run the steps as their dependencies allow, in parallel where they can; summarise; the exit code."""
        containers = Containers(
            {"scaffold.job": self.name, "scaffold.experiment": self.exp}, self.out, prefix
        )
        self.ran = True
        pending, order = dict(needs), _order(needs)
        started = time.monotonic()
        failed = ""
        with ThreadPoolExecutor(max_workers=max(1, len(steps))) as pool:
            running = {}
            try:
                while pending or running:
                    for name in list(pending):
                        upstream = [steps[n] for n in pending[name]]
                        if any(s.status in ("Failed", "Canceled", "Skipped") for s in upstream):
                            steps[name].status = "Skipped"
                            del pending[name]
                        elif all(s.status == "Completed" for s in upstream) and not (
                            failed and not continue_on_failure
                        ):
                            running[pool.submit(containers.run, steps[name])] = name
                            del pending[name]
                    waiting = sum(steps[name].process is not None for name in pending)
                    for name in order:  # the steps to come start ahead, in the order they will run
                        if name in pending and waiting < WARM_LIMIT and not failed:
                            waiting += containers.prestart(steps[name], self.packages)
                    if not running:
                        break
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        name = running.pop(future)
                        future.result()
                        step = steps[name]
                        self.upload_run_folders(step)
                        ws.end_run(step.run_id, MLFLOW_STATUS.get(step.status, "FAILED"))
                        if step.status == "Failed" and not failed:
                            failed = name
                            if not continue_on_failure:
                                containers.stop_all()
            except BaseException:
                print("\ninterrupted: stopping the job's containers", file=self.err)
                containers.stop_all()
                for future in running:
                    future.exception()  # wait for the step's thread to see its container go
                for step in steps.values():
                    if step.run_id and step.status not in ("Completed", "Failed"):
                        ws.end_run(step.run_id, "KILLED")
                raise
        containers.discard(steps.values())
        for name, step in steps.items():
            if step.status in ("NotStarted", "Skipped") and step.run_id:
                ws.end_run(step.run_id, "KILLED")
        self.summary({name: steps[name] for name in order}, time.monotonic() - started)
        if failed:
            step = steps[failed]
            raise ScaffoldError(
                f"step {failed} failed with exit code {step.exit_code}; its log: {self.show(step.log)}", 1
            )
        return 0

    @cached_property
    def packages(self) -> list[str]:
        """The packages the job's code imports, which a step started ahead imports while it waits."""
        return imported_packages(self.snap_root, self.code_files)

    def upload_run_folders(self, step: Step) -> None:
        """After the step's container ended: its ./outputs and ./logs as artifacts of its run."""
        from mlflow.exceptions import MlflowException

        for folder in RUN_FOLDERS:
            path = step.workdir / folder
            if step.run_id and path.is_dir() and any(path.iterdir()):
                try:
                    self.ws.client.log_artifacts(step.run_id, str(path), folder)
                except (MlflowException, OSError) as exc:  # the files stay in the step's working directory
                    first = str(exc).strip().splitlines()[:1] or [type(exc).__name__]
                    print(
                        f"warning: {step.name}: ./{folder} not uploaded to its run: {first[0]}", file=self.err
                    )

    def show(self, path: Path) -> str:
        return str(path.relative_to(self.repo.root)) if path.is_relative_to(self.repo.root) else str(path)

    def summary(self, steps: dict, seconds: float) -> None:
        print(f"\njob {self.name}: {seconds:.1f} s, in {self.show(self.run_dir)}", file=self.out)
        for name, step in steps.items():
            outputs = ", ".join(self.show(host) for host, _ in step.outputs.values()) or "-"
            print(
                f"  {name:<12} {step.status:<10} {step.seconds:7.1f} s  "
                f"run {step.run_id or '-'}  outputs: {outputs}",
                file=self.out,
            )
