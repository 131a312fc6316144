"""`compute`: create or update an AmlCompute cluster that scales to zero."""

from __future__ import annotations

from scaffold import xargs


def define(p) -> None:
    """The cluster's XARGS."""
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--min", dest="min_nodes", metavar="MIN", type=int, default=0)
    p.add_argument("--idle", type=int, default=0, help="seconds idle before scaling down")
    p.add_argument(
        "--identity",
        choices=("system_assigned", "user_assigned", "none"),
        default="system_assigned",
        help="the cluster's managed identity, used by jobs with identity: type: managed",
    )
    p.add_argument("--identity-id", default="", help="resource id of the user-assigned identity")


def run(args) -> int:
    options = xargs.parse("compute", args.xargs or [], define)
    if options is None:
        return 0
    from scaffold.azure import compute
    from scaffold.config import repo_and_config

    repo, config = repo_and_config()
    return compute.ensure_compute(repo, config, args.name, args.size, args.max, options)
