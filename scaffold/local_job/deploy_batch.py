"""A batch deployment run on this machine as Azure ML runs a scoring job: its image, its scoring script.

The inputs (a file, or every file under a folder, as Azure ML lists a uri_folder) go in mini-batches of
mini_batch_size files to batch_runner.py in the deployment's image, which writes the rows to
<run_dir>/score/<output_file_name>. One process scores the mini-batches in order: instance_count and
max_concurrency_per_instance only change how fast Azure ML does it (and the rows' order, which it does not
keep).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

from scaffold import containers
from scaffold.errors import ScaffoldError
from scaffold.local_job.deploy_online import APP_ROOT, Model, docker_run, model_dir

INPUTS = "/mnt/azureml/inputs"
RUN = "/mnt/azureml/run"
RUNNER = "/opt/scaffold/batch_runner.py"


def settings(deployment, code: Path, source: Path, files: list[Path]) -> dict:
    """What batch_runner.py needs, with paths as the container sees them."""
    inside = [f"{INPUTS}/{source.name}"]
    if source.is_dir():
        inside = [f"{inside[0]}/{f.relative_to(source).as_posix()}" for f in files]
    size = max(deployment.mini_batch_size or 10, 1)
    retry = deployment.retry_settings
    return {
        "scoring_script": f"{APP_ROOT}/{code.name}/{deployment.code_configuration.scoring_script}",
        "mini_batches": [inside[i : i + size] for i in range(0, len(inside), size)],
        "max_retries": (retry.max_retries if retry and retry.max_retries is not None else 3),
        "timeout": (retry.timeout if retry and retry.timeout else 30),
        "error_threshold": -1 if deployment.error_threshold is None else int(deployment.error_threshold),
        "append_row": (deployment.output_action or "append_row").lower() == "append_row",
        "output": f"{RUN}/score/{deployment.output_file_name or 'predictions.csv'}",
        "result": f"{RUN}/batch-result.json",
    }


def run(exp: str, deployment, image: str, code: Path, model: Model, source: Path, run_dir: Path, out) -> int:
    """Score the input files in the deployment's image; print what batch_runner.py recorded."""
    # The file itself, or every file under the folder (hidden ones aside).
    files = (
        [source]
        if source.is_file()
        else sorted(p for p in source.rglob("*") if p.is_file() and not p.name.startswith("."))
    )
    if not files:
        raise ScaffoldError(f"{source}: no files to score")
    plan = settings(deployment, code, source, files)
    (run_dir / "score").mkdir(parents=True, exist_ok=True)
    (run_dir / "batch-settings.json").write_text(json.dumps(plan, indent=1))
    container, log = f"scaffold-{exp}-{uuid.uuid4().hex[:8]}", run_dir / "batch.log"
    env = {"HOME": "/tmp", "AZUREML_MODEL_DIR": model_dir(model), **(deployment.environment_variables or {})}
    mounts = {
        model[2]: env["AZUREML_MODEL_DIR"],
        code: f"{APP_ROOT}/{code.name}",
        source: f"{INPUTS}/{source.name}",
        Path(__file__).with_name("batch_runner.py"): RUNNER,
    }
    argv = docker_run(container, exp, env, mounts, "--rm", "--init")
    argv += ["--mount", f"type=bind,source={run_dir},target={RUN}", "--workdir", f"{APP_ROOT}/{code.name}"]
    argv += [image, "python", RUNNER, f"{RUN}/batch-settings.json"]
    print(f"local: container {container} (image {image})", file=out)
    print(
        f"local: scoring {len(files)} file(s) from {source} in {len(plan['mini_batches'])} mini-batch(es)",
        file=out,
        flush=True,
    )
    with open(log, "w") as sink:
        try:
            status = subprocess.run(argv, stdout=sink, stderr=subprocess.STDOUT).returncode
        finally:
            containers.remove(container)
    result_file = run_dir / "batch-result.json"
    if not result_file.is_file():
        last = (log.read_text(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise ScaffoldError(f"the scoring container failed (exit {status}): {last} (log: {log})")
    result = json.loads(result_file.read_text())
    print(
        f"local: {result['rows']} rows from {result['mini_batches']} mini-batch(es); failed files: "
        f"{len(result['failed_files'])} (error_threshold {plan['error_threshold']})",
        file=out,
    )
    for name, reason in result["failed_files"]:
        print(f"  failed: {name}: {reason}", file=out)
    if plan["append_row"]:
        output = run_dir / "score" / Path(plan["output"]).name
        print(f"local: wrote {output} (append_row: space-separated, no header)", file=out)
    print(f"local: log {log}", file=out)
    if result["error"]:
        raise ScaffoldError(f"{result['error']} (log: {log})", 1)
    return status
