"""`new-exp`: create src/EXP from the template, or from another experiment."""

import sys

from scaffold import experiments
from scaffold.config import repo_and_config


def run(args) -> int:
    repo, config = repo_and_config()
    compute = config.get("COMPUTE", "cpu-cluster")
    target = experiments.new_experiment(repo, args.exp, args.source, compute=compute)
    origin = f"src/{args.source}" if args.source else repo.template_zip.name
    print(f"created {target.relative_to(repo.root)} from {origin}; next: make local EXP={args.exp}")
    if args.source and (kept := experiments.left_alone(repo, args.exp, args.source)):
        print(f"{args.source} is still mentioned here (not a name derived from it, left as written):")
        print("\n".join(f"  {line}" for line in kept))
    if args.source and (kept := experiments.endpoints_kept(repo, args.exp, args.source)):
        why = "deploying it would replace that experiment's deployments: rename them first"
        print(f"warning: {args.exp} keeps the endpoint names of {args.source}; {why}", file=sys.stderr)
        print("\n".join(f"  {line}" for line in kept), file=sys.stderr)
    return 0
