"""Runs a command for an experiment with the chosen runner (its container, or its virtualenv)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scaffold import experiments, images
from scaffold.config import Config
from scaffold.errors import ScaffoldError
from scaffold.paths import Repo

if TYPE_CHECKING:
    import socket


def run(args, repo: Repo, config: Config, script_argv: list[str], **spec_options) -> int:
    experiments.require(repo, args.exp)
    secrets = {**config.secrets(), **spec_options.pop("secrets", {})}
    if args.runner == "venv":
        from scaffold import venv_runner

        entry = str(Path(__file__).with_name("container_entry.py"))
        command = ["python", entry, *script_argv[1:]] if script_argv[:1] == ["python"] else script_argv
        return venv_runner.run(repo, args.exp, command, secrets)
    from scaffold import containers

    containers.split_run_xargs(args.run_xargs)  # refuse unsafe flags before any build
    image = spec_options.pop("image", None) or images.ensure_experiment(repo, config, args.exp, quiet=True)
    if script_argv[:1] == ["python"]:
        script_argv = containers.script_command(script_argv[1], script_argv[2:])
    spec = containers.RunSpec(
        repo, args.exp, image, script_argv, secrets=secrets, run_xargs=args.run_xargs, **spec_options
    )
    return containers.run(spec)


def check_port(port, free: bool = True) -> int:
    """PORT as a number a socket accepts (1-65535) and free on 127.0.0.1, else one line naming the problem."""
    text = str(port).strip()
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ScaffoldError(f"PORT must be a port number (1-65535), got {text!r}")
    number = int(text)
    if free:
        listen(number).close()
    return number


def listen(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:port, held from now on: no other server can take the port meanwhile."""
    import socket  # only with a port: a run without one does not pay for it

    try:
        return socket.create_server(("127.0.0.1", port))
    except OSError:
        raise ScaffoldError(
            f"port {port} on 127.0.0.1 is already in use; choose another with PORT=..."
        ) from None
