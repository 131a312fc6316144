"""`test`: every experiment's tests with common's, each in its own environment."""

from __future__ import annotations

from scaffold.config import repo_and_config


def run(args) -> int:
    from scaffold import testing

    repo, config = repo_and_config()
    return testing.run_all(repo, config, args)
