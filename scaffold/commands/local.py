"""`local`: run local.py in the experiment's container (or virtualenv)."""

from __future__ import annotations

from scaffold import runner
from scaffold.config import repo_and_config


def run(args) -> int:
    repo, config = repo_and_config()
    options = {}
    port = args.port.strip()
    if port and args.runner == "venv":  # on the host: the script learns the port, nothing is published
        runner.check_port(port, free=False)
        options["secrets"] = {"SCAFFOLD_PORT": port}
    elif port:
        number = runner.check_port(port)
        options = {"ports": {number: number}, "extra_env": {"SCAFFOLD_PORT": port}}
    return runner.run(args, repo, config, ["python", "local.py", *args.xargs], gpus=args.gpus, **options)
