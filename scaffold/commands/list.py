"""`list`: print the experiments."""

from __future__ import annotations

from scaffold import experiments
from scaffold.config import repo_and_config


def run(args) -> int:
    repo, _ = repo_and_config()
    for name in experiments.discover(repo):
        print(name)
    return 0
