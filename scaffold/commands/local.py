"""`local`: run local.py in the experiment's container (or virtualenv)."""

from __future__ import annotations

from scaffold import runner
from scaffold.config import repo_and_config


def run(args) -> int:
    repo, config = repo_and_config()
    options = {}
    port = args.port.strip()
    if port:
        runner.check_port(port)
        if args.runner != "venv":
            from scaffold import containers

            containers.check_port_free(int(port))
            options["ports"] = {int(port): int(port)}
        # The script learns the published port; with RUNNER=venv it runs on the host, so nothing is published.
        options["extra_env" if args.runner != "venv" else "secrets"] = {"SCAFFOLD_PORT": port}
    return runner.run(args, repo, config, ["python", "local.py", *args.xargs], gpus=args.gpus, **options)
