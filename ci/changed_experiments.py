#!/usr/bin/env python3
"""Which experiments a change touches: used by the GitHub Actions and Azure DevOps pipelines alike.

    python3 ci/changed_experiments.py --base REV [--head HEAD]   # from `git diff --name-only REV...HEAD`
    python3 ci/changed_experiments.py src/nyc_taxi/main.py ...   # from paths given as arguments
    python3 ci/changed_experiments.py --experiment nyc_taxi      # one named experiment (checked to exist)
    python3 ci/changed_experiments.py --all                      # every experiment

Rules: a path under src/<exp>/ selects <exp> when src/<exp>/main.py exists (the driver's own discovery
rule: `make list`); a path under src/common/ selects every experiment; anything else selects nothing.
An experiment deleted by the change is not selected. A missing base (an empty REV, or the all-zero SHA
that a new branch's first push reports) selects every experiment.

Deploy experiments come after the training: an experiment is a deploy when its folder has one of
DEPLOY_FILES (as the driver's local deploy finds them), so a copy made with `make new-exp FROM=` is one
too. The names are listed training first; `--stage train` keeps the other experiments, `--stage deploy`
the deploy experiments, so that a pipeline can run the deploys once the training jobs have completed.

Output: names one per line (default), `--format json` (a JSON list, for a GitHub Actions matrix) or
`--format ado-matrix` (a JSON object of legs setting EXP, for an Azure Pipelines matrix).
Only the standard library is used, so it runs before `make venv`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Folders under src/ that are never experiments (the driver's RESERVED names).
RESERVED = {"common", "data", "tests", "docker", "notebooks"}
SHARED = "common"
# An online or a batch deployment: scaffold/local_job/deploy.py's FILES.
DEPLOY_FILES = ("deployment.yml", "batch-deployment.yml")
STAGES = ("train", "deploy")


def discover(root: Path) -> list[str]:
    """Experiment folders: src/<name>/ with a main.py, minus reserved and hidden folders."""
    src = root / "src"
    if not src.is_dir():
        return []
    return sorted(
        p.name
        for p in src.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name not in RESERVED and (p / "main.py").is_file()
    )


def select(paths: list[str], known: list[str]) -> list[str]:
    """The experiments that changed `paths` (repository-relative, POSIX separators) affect."""
    chosen: set[str] = set()
    for path in paths:
        parts = path.strip().replace("\\", "/").removeprefix("./").split("/")
        if len(parts) < 3 or parts[0] != "src":
            continue
        if parts[1] == SHARED:
            return list(known)
        if parts[1] in known:
            chosen.add(parts[1])
    return sorted(chosen)


def is_deploy(root: Path, name: str) -> bool:
    return any((root / "src" / name / file).is_file() for file in DEPLOY_FILES)


def in_stage(root: Path, names: list[str], stage: str | None) -> list[str]:
    """Training experiments first, then deploy experiments; with `stage`, only that part."""
    train = [name for name in names if not is_deploy(root, name)]
    deploy = [name for name in names if is_deploy(root, name)]
    return {"train": train, "deploy": deploy}.get(stage, train + deploy)


def changed_paths(root: Path, base: str, head: str) -> list[str]:
    """Paths changed between the merge base of `base` and `head`, and `head` (renames as two paths)."""
    result = subprocess.run(
        ["git", "diff", "--name-only", "--no-renames", f"{base}...{head}", "--"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(
            f"changed_experiments: git diff {base}...{head} failed: {result.stderr.strip()}\n"
            "changed_experiments: the checkout needs the history of both commits (fetch-depth: 0)"
        )
    return [line for line in result.stdout.splitlines() if line]


def render(names: list[str], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(names)
    if fmt == "ado-matrix":
        return json.dumps({name: {"EXP": name} for name in names})
    return "".join(f"{name}\n" for name in names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--base", help="the commit the change is compared with (merge base with --head)")
    source.add_argument("--experiment", help="select this one experiment (it must exist)")
    source.add_argument("--all", action="store_true", help="select every experiment")
    parser.add_argument("--head", default="HEAD", help="the changed commit (default HEAD)")
    parser.add_argument("--stage", choices=STAGES, help="only the training or only the deploy experiments")
    parser.add_argument("--format", choices=("lines", "json", "ado-matrix"), default="lines")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", help="changed paths, instead of --base")
    args = parser.parse_args(argv)

    known = discover(args.root)
    if args.paths and (args.base is not None or args.experiment or args.all):
        parser.error("give changed paths or one of --base/--experiment/--all, not both")
    if args.experiment:
        if args.experiment not in known:
            print(
                f"changed_experiments: unknown experiment {args.experiment!r}; known: {', '.join(known)}",
                file=sys.stderr,
            )
            return 2
        names = [args.experiment]
    elif args.all:
        names = known
    elif args.base is not None:
        if not args.base.strip("0"):
            print("changed_experiments: no base commit, selecting every experiment", file=sys.stderr)
            names = known
        else:
            names = select(changed_paths(args.root, args.base, args.head), known)
    else:
        names = select(args.paths, known)
    sys.stdout.write(render(in_stage(args.root, names, args.stage), args.format))
    if args.format != "lines":
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
