"""A batch deployment run on this machine the way Azure ML runs a scoring job: its image, its scoring script.

The input files (a file, or every file under a folder, as Azure ML lists a uri_folder) are split into
mini-batches of mini_batch_size files; batch_runner.py calls the scoring script's init() once and
run(mini_batch) per mini-batch in the deployment's image, with the model at AZUREML_MODEL_DIR, the
deployment's environment_variables, retry_settings (max_retries, timeout) and error_threshold, and appends
the rows to <run_dir>/score/<output_file_name> (append_row: space-separated, no header). One process scores
the mini-batches in order: instance_count and max_concurrency_per_instance only change how fast Azure ML
does it (and the order of the rows across mini-batches, which Azure ML does not keep).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

from scaffold import containers
from scaffold.errors import ScaffoldError

APP_ROOT = "/var/azureml-app"
INPUTS = "/mnt/azureml/inputs"
RUN = "/mnt/azureml/run"
RUNNER = Path(__file__).with_name("batch_runner.py")


def input_files(source: Path) -> list[Path]:
    """The file itself, or every file under the folder (hidden ones aside)."""
    if source.is_file():
        return [source]
    return sorted(p for p in source.rglob("*") if p.is_file() and not p.name.startswith("."))


def settings(deployment, code: Path, source: Path, files: list[Path]) -> dict:
    """What batch_runner.py needs, with paths as the container sees them."""
    inside = [
        f"{INPUTS}/{source.name}" + (f"/{f.relative_to(source).as_posix()}" if source.is_dir() else "")
        for f in files
    ]
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


def run(
    exp: str,
    deployment,
    image: str,
    code: Path,
    model: tuple[str, str, Path],
    source: Path,
    run_dir: Path,
    out,
) -> int:
    files = input_files(source)
    if not files:
        raise ScaffoldError(f"{source}: no files to score")
    plan = settings(deployment, code, source, files)
    (run_dir / "score").mkdir(parents=True, exist_ok=True)
    (run_dir / "batch-settings.json").write_text(json.dumps(plan, indent=1))
    name, version, model_dir = model
    container = f"scaffold-{exp}-{uuid.uuid4().hex[:8]}"
    argv = ["docker", "run", "--rm", "--init", "--name", container, "--label", f"scaffold.experiment={exp}"]
    if hasattr(os, "getuid"):
        argv += ["--user", f"{os.getuid()}:{os.getgid()}"]
    env = {
        "HOME": "/tmp",
        "AZUREML_MODEL_DIR": f"{APP_ROOT}/azureml-models/{name}/{version}",
        **(deployment.environment_variables or {}),
    }
    for key, value in env.items():
        argv += ["-e", f"{key}={value}"]
    mounts = {
        model_dir: env["AZUREML_MODEL_DIR"],
        code: f"{APP_ROOT}/{code.name}",
        source: f"{INPUTS}/{source.name}",
        RUNNER: "/opt/scaffold/batch_runner.py",
    }
    for host, inside in mounts.items():
        argv += ["--mount", f"type=bind,source={host},target={inside},readonly"]
    argv += ["--mount", f"type=bind,source={run_dir},target={RUN}", "--workdir", f"{APP_ROOT}/{code.name}"]
    argv += [image, "python", "/opt/scaffold/batch_runner.py", f"{RUN}/batch-settings.json"]
    log = run_dir / "batch.log"
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
    return report(run_dir, plan, log, status, out)


def report(run_dir: Path, plan: dict, log: Path, exit_code: int, out) -> int:
    """Print what batch_runner.py recorded; its error as one line."""
    result_file = run_dir / "batch-result.json"
    if not result_file.is_file():
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        raise ScaffoldError(
            f"the scoring container failed (exit {exit_code}): {lines[-1] if lines else 'no output'} "
            f"(log: {log})"
        )
    result = json.loads(result_file.read_text())
    output = run_dir / "score" / Path(plan["output"]).name
    print(
        f"local: {result['rows']} rows from {result['mini_batches']} mini-batch(es); failed files: "
        f"{len(result['failed_files'])} (error_threshold {plan['error_threshold']})",
        file=out,
    )
    for name, reason in result["failed_files"]:
        print(f"  failed: {name}: {reason}", file=out)
    if plan["append_row"]:
        print(f"local: wrote {output} (append_row: space-separated, no header)", file=out)
    print(f"local: log {log}", file=out)
    if result["error"]:
        raise ScaffoldError(f"{result['error']} (log: {log})", 1)
    return exit_code
