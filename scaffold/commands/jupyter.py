"""`jupyter`: JupyterLab in the experiment's environment, on 127.0.0.1."""

from __future__ import annotations

import secrets
import sys

from scaffold import experiments, images, runner
from scaffold.config import repo_and_config
from scaffold.errors import ScaffoldError

PORT = 8888  # inside the container; the driver publishes it on 127.0.0.1 only
# The token comes from JUPYTER_TOKEN, passed by name so it is not on a command line.
COMMAND = [
    "jupyter", "lab",
    "--ip=0.0.0.0",
    f"--port={PORT}",
    "--no-browser",
    "--ServerApp.root_dir=/project",
    "--allow-root",  # CI runs as root; the container user is the host user either way
]  # fmt: skip


def run(args) -> int:
    from scaffold import containers

    repo, config = repo_and_config()
    experiments.require(repo, args.exp)
    if args.runner == "venv":
        raise ScaffoldError("jupyter needs Docker; RUNNER=venv is for local runs")
    containers.split_run_xargs(args.run_xargs)  # refuse unsafe flags before any build
    port = runner.check_port(args.port)
    base = images.ensure_experiment(repo, config, args.exp, quiet=True)
    # The docker/jupyter layer, built once per experiment image.
    layer = images.ImageSpec(
        f"{args.exp}-jupyter", repo.docker / "jupyter", {"EXP_IMAGE": base}, {"scaffold.experiment": args.exp}
    )
    image = images.ensure(layer, quiet=True)
    token = secrets.token_hex(24)
    repo.notebooks.mkdir(exist_ok=True)
    print(f"JupyterLab for {args.exp}: http://127.0.0.1:{port}/lab?token={token}", file=sys.stderr)
    print("stop it with Ctrl-C", file=sys.stderr)
    return runner.run(
        args,
        repo,
        config,
        COMMAND,
        image=image,
        ports={port: PORT},
        mounts={repo.notebooks: "/project/notebooks"},
        secrets={"JUPYTER_TOKEN": token},
    )
