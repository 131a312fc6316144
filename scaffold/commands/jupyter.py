"""`jupyter`: JupyterLab in the experiment's environment, on 127.0.0.1."""

from __future__ import annotations

import secrets
import sys

from scaffold import experiments, images, runner
from scaffold.config import repo_and_config
from scaffold.errors import ScaffoldError


def run(args) -> int:
    from scaffold import containers, jupyter_image

    repo, config = repo_and_config()
    experiments.require(repo, args.exp)
    if args.runner == "venv":
        raise ScaffoldError("jupyter needs Docker; RUNNER=venv is for local runs")
    containers.split_run_xargs(args.run_xargs)  # refuse unsafe flags before any build
    containers.check_port_free(runner.check_port(args.port))
    base = images.ensure_experiment(repo, config, args.exp, quiet=True)
    image = jupyter_image.ensure(repo, args.exp, base)
    token = secrets.token_hex(24)
    repo.notebooks.mkdir(exist_ok=True)
    print(f"JupyterLab for {args.exp}: http://127.0.0.1:{args.port}/lab?token={token}", file=sys.stderr)
    print("stop it with Ctrl-C", file=sys.stderr)
    return runner.run(
        args,
        repo,
        config,
        jupyter_image.command(),
        image=image,
        ports={args.port: jupyter_image.PORT},
        mounts={repo.notebooks: "/project/notebooks"},
        secrets={"JUPYTER_TOKEN": token},
    )
