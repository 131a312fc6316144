"""`terminal`: an interactive shell in the experiment's container."""

from __future__ import annotations

from scaffold import runner
from scaffold.config import repo_and_config
from scaffold.errors import ScaffoldError


def run(args) -> int:
    repo, config = repo_and_config()
    if args.runner == "venv":
        raise ScaffoldError("terminal needs Docker; with RUNNER=venv, activate .venvs/<exp> yourself")
    return runner.run(args, repo, config, ["bash"], interactive=True)
