"""A sweep job run locally: `--max-trials` trials sampled from the search space, each its own container.

Every trial is a child run of the sweep's run. While trials run, the early-termination policy is applied to
the primary metric each trial has logged so far (read back from MLflow, as Azure ML reads it), and a trial
it stops is canceled, as in the studio. A trial's result is the last value of the primary metric it logged.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from scaffold.errors import ScaffoldError
from scaffold.local_job import sweep
from scaffold.local_job.steps import Containers

POLL_SECONDS = 2.0


def run_sweep(job, spec: dict, tags: dict, options) -> int:
    """Sample, run and judge the trials; print the best; the exit code is 0 when a trial completed."""
    limits = spec.get("limits") or {}
    objective = spec.get("objective") or {}
    metric, goal = objective.get("primary_metric"), objective.get("goal", "maximize")
    count = min(options.max_trials, int(limits.get("max_total_trials") or options.max_trials))
    algorithm = spec.get("sampling_algorithm") or "random"
    samples = sweep.sample(spec.get("search_space") or {}, algorithm, count)
    policy = sweep.policy(spec.get("early_termination"))
    trial_timeout = float(limits.get("trial_timeout") or 0)
    trial = spec.get("trial") or {}
    inputs = job.parent_values(spec.get("inputs") or {})

    began = time.monotonic()
    ws = job.ws
    experiment = spec.get("experiment_name") or job.exp
    experiment_id = ws.experiment(experiment)
    parent = ws.start_run(
        experiment_id, spec.get("display_name") or job.name, {**tags, "azureml.job": job.name}
    )
    steps = []
    for index, params in enumerate(samples):
        node = {**trial, "inputs": dict(inputs), "component_inputs": {}, "outputs": {}}
        values = {f"search_space.{key}": str(value) for key, value in params.items()}
        step = job.make_step(f"trial_{index}", node, values)
        step.run_id = ws.start_run(
            experiment_id, f"trial_{index}", {**tags, "hyperparameters": json.dumps(params)}, parent
        )
        step.env.update(ws.step_env(experiment, experiment_id, step.run_id))
        steps.append((step, params))
    kind = sweep.sampling(algorithm)["type"]
    print(f"sweep: {len(steps)} trials of {metric} ({goal}), sampled {kind}", file=job.out)
    if message := sweep.note(algorithm):
        print(message, file=job.err)
    containers = Containers({"scaffold.job": job.name, "scaffold.experiment": job.exp}, job.out)
    job.ran = True
    concurrent = max(1, min(len(steps), int(limits.get("max_concurrent_trials") or 1)))
    stopped_early: set[str] = set()
    try:
        with ThreadPoolExecutor(max_workers=concurrent) as pool:
            running = {pool.submit(containers.run, step): step for step, _ in steps}
            while running:
                done, _ = wait(running, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                for future in done:
                    step = running.pop(future)
                    future.result()
                    job.upload_run_folders(step)
                    status = "KILLED" if step.name in stopped_early else None
                    ws.end_run(step.run_id, status or {"Completed": "FINISHED"}.get(step.status, "FAILED"))
                live = [s for s in running.values() if s.status == "Running"]
                # Each trial's metric history, read once per poll (every policy check compares them all).
                histories = {s.name: _history(ws, s, metric) for s, _ in steps} if live and policy else {}
                for step in live:
                    others = [s for s, _ in steps if s is not step]
                    ended = [s.status not in ("Running", "NotStarted") for s in others]
                    stops = bool(policy and metric) and policy.should_stop(
                        histories[step.name], [histories[s.name] for s in others], goal, ended
                    )
                    if trial_timeout and time.monotonic() - step.started > trial_timeout:
                        why = f"{step.name} passed trial_timeout ({trial_timeout:.0f} s): stopping it"
                    elif stops:
                        reports = len(histories[step.name])
                        why = f"early termination stops {step.name} after {reports} reports of {metric}"
                    else:
                        continue
                    print(f"sweep: {why}", file=job.out)
                    stopped_early.add(step.name)
                    containers.stop(step)
    except BaseException:
        print("\ninterrupted: stopping the sweep's containers", file=job.err)
        containers.stop_all()
        for step, _ in steps:
            if step.status in ("Running", "NotStarted"):
                ws.end_run(step.run_id, "KILLED")
        ws.end_run(parent, "KILLED")
        raise
    for step, _ in steps:
        if step.name in stopped_early:
            step.status = "Canceled"
    values = [(_history(ws, step, metric) or [None])[-1] for step, _ in steps]  # the last value logged
    # Trials that did not complete count as having no value, so the index stays the trial's own.
    completed = [v if s.status == "Completed" else None for (s, _), v in zip(steps, values)]
    found = sweep.best([(params, v) for (_, params), v in zip(steps, completed)], goal)
    ws.end_run(parent, "FINISHED" if found else "FAILED")
    job.summary({step.name: step for step, _ in steps}, time.monotonic() - began)
    for (step, params), value in zip(steps, values):
        shown = "no value" if value is None else f"{value:.4f}"
        print(f"  {step.name}: {metric} {shown}  {json.dumps(params)}", file=job.out)
    if not found:
        raise ScaffoldError(
            f"no trial completed with a {metric} value; logs are in {job.show(job.run_dir / '.logs')}", 1
        )
    index, params, value = found
    print(f"best: trial_{index} with {metric} {value:.4f}: {json.dumps(params)}", file=job.out)
    return 0


def _history(ws, step, metric: str) -> list[float]:
    return (
        sweep.read_history(ws.client, step.run_id, metric) if metric and step.status != "NotStarted" else []
    )
