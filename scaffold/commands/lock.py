"""`lock`: re-resolve every requirements.txt (or one experiment's) into its requirements.lock."""

from scaffold import experiments, lockfiles
from scaffold.config import repo_and_config


def run(args) -> int:
    repo, _ = repo_and_config()
    if args.exp:
        lockfiles.compile_lock(experiments.require(repo, args.exp) / "docker" / "requirements.txt")
        return 0
    lockfiles.compile_lock(repo.root / "requirements.txt", lockfiles.HOST_PLATFORM)
    for folder in [*map(repo.experiment, experiments.discover(repo)), repo.root / "experiment_template"]:
        if (folder / "docker" / "requirements.txt").is_file():
            lockfiles.compile_lock(folder / "docker" / "requirements.txt")
    print("locked; run `make template` if experiment_template/ changed")
    return 0
