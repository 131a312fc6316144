"""`build-exp`: build the experiment's image (a no-op when its docker/ context is unchanged)."""

from scaffold import experiments, images
from scaffold.config import repo_and_config


def run(args) -> int:
    repo, config = repo_and_config()
    experiments.require(repo, args.exp)
    images.ensure_experiment(repo, config, args.exp, args.xargs)
    return 0
