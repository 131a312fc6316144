"""`make job XARGS=--dry-run` speed and snapshot size, written to RESULTS.md (section "job").

- end to end `python -m scaffold job --exp <template experiment> -- --dry-run` (imports, YAML validation,
  staging) against a bare `python -c pass`, interleaved, medians (target: dry run <= 3 s)
- for every experiment under src/: the bytes the snapshot uploads against the experiment folder's bytes
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results import table, write_section  # noqa: E402

from scaffold import experiments, snapshot  # noqa: E402
from scaffold.paths import Repo  # noqa: E402

PY = (
    str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
)
REPEAT = 7
TARGET = 3.0
EXP = "bench_job"


def timed(argv: list[str], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def prepare(repo: Path) -> None:
    """A throw-away repository: config, template, the real common/ and one experiment from the template."""
    repo.mkdir(parents=True)
    shutil.copy2(ROOT / "config.env", repo / "config.env")
    shutil.copy2(ROOT / "experiment_template.zip", repo / "experiment_template.zip")
    shutil.copytree(
        ROOT / "src" / "common", repo / "src" / "common", ignore=shutil.ignore_patterns("__pycache__")
    )
    experiments.new_experiment(Repo(repo), EXP, compute="cpu-cluster")


def folder_bytes(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return len(files), sum(p.stat().st_size for p in files)


def snapshot_rows(repo: Repo) -> list[list[object]]:
    """Sizes per experiment, and the staging time (copy only: the SDK import is paid before timing)."""
    snapshot._ignore_file(repo.root)  # imports azure.ai.ml once, outside the timings
    rows = []
    for name in experiments.discover(repo):
        exp = repo.experiment(name)
        count, size = folder_bytes(exp)
        common_count, common_size = folder_bytes(repo.common)
        started = time.perf_counter()
        with snapshot.staged(exp, repo.common, ["azure-ml-job.yaml", "docker"]) as snap:
            staged_count, staged_size = len(snap.files), snap.size
        seconds = time.perf_counter() - started
        rows.append(
            [
                name,
                f"{count} files, {size / 1024:.1f} KiB",
                f"{common_count} files, {common_size / 1024:.1f} KiB",
                f"{staged_count} files, {staged_size / 1024:.1f} KiB",
                f"{staged_size / size:.2f}" if size else "-",
                f"{seconds * 1000:.0f} ms",
            ]
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    with tempfile.TemporaryDirectory() as folder:
        repo = Path(folder) / "repo"
        prepare(repo)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SCAFFOLD_ROOT": str(repo)}
        for key in ("SUBSCRIPTION_ID", "RESOURCE_GROUP", "WORKSPACE"):
            env.pop(key, None)
        dry_run = [PY, "-m", "scaffold", "job", "--exp", EXP, "--", "--dry-run"]
        baseline = [PY, "-c", "pass"]
        timed(dry_run, repo, env), timed(baseline, repo, env)  # warm-up (bytecode caches)
        job_times, base_times = [], []
        for _ in range(REPEAT):
            job_times.append(timed(dry_run, repo, env))
            base_times.append(timed(baseline, repo, env))
        job, base = statistics.median(job_times), statistics.median(base_times)
        template_rows = snapshot_rows(Repo(repo))

    speed = table(
        ["command", "median", "baseline `python -c pass`", "difference", "target", "met"],
        [
            [
                "`python -m scaffold job --exp <template> -- --dry-run`",
                f"{job:.2f} s",
                f"{base:.3f} s",
                f"+{job - base:.2f} s",
                f"<= {TARGET:.0f} s",
                "yes" if job <= TARGET else "**no**",
            ]
        ],
    )
    headers = [
        "experiment",
        "experiment folder",
        "src/common",
        "snapshot (uploaded)",
        "snapshot / folder",
        "staging",
    ]
    rows = [[f"{EXP} (fresh from the template)", *row[1:]] for row in template_rows]
    rows += snapshot_rows(Repo(ROOT))
    body = (
        f"Dry run end to end (imports, YAML validation with the SDK, staging), median of {REPEAT} "
        "interleaved runs:\n\n"
        f"{speed}\n\n"
        "Snapshot size per experiment (what `code: .` uploads: the folder minus .amlignore and "
        "always-excluded files, plus common/):\n\n"
        f"{table(headers, rows)}\n"
    )
    write_section("job", "Azure ML job: dry run and snapshot size (`benchmarks/bench_job.py`)", body)
    print(body)
    return 0 if job <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
