"""Handlers of the inner-loop commands: each takes the parsed arguments and returns an exit code."""

from __future__ import annotations

import sys
from pathlib import Path

from scaffold import experiments, images
from scaffold.config import Config, repo_and_config
from scaffold.errors import ScaffoldError
from scaffold.paths import Repo


def list(args) -> int:  # noqa: A001 - the command is called `list`
    repo, _ = repo_and_config()
    for name in experiments.discover(repo):
        print(name)
    return 0


def new_exp(args) -> int:
    repo, config = repo_and_config()
    target = experiments.new_experiment(
        repo, args.exp, args.source, compute=config.get("COMPUTE", "cpu-cluster")
    )
    origin = f"src/{args.source}" if args.source else repo.template_zip.name
    print(f"created {target.relative_to(repo.root)} from {origin}; next: make local EXP={args.exp}")
    if args.source:
        kept = experiments.left_alone(repo, args.exp, args.source)
        if kept:
            print(f"{args.source} is still mentioned here (not a name derived from it, left as written):")
            print("\n".join(f"  {line}" for line in kept))
    return 0


def build_exp(args) -> int:
    repo, config = repo_and_config()
    experiments.require(repo, args.exp)
    images.ensure_experiment(repo, config, args.exp, args.xargs)
    return 0


def _run(args, repo: Repo, config: Config, script_argv: list[str], **spec_options) -> int:
    """Run a command for an experiment with the chosen runner."""
    experiments.require(repo, args.exp)
    secrets = {**config.secrets(), **spec_options.pop("secrets", {})}
    if args.runner == "venv":
        from scaffold import venv_runner

        entry = str(Path(__file__).with_name("container_entry.py"))
        command = ["python", entry, *script_argv[1:]] if script_argv[:1] == ["python"] else script_argv
        return venv_runner.run(repo, args.exp, command, secrets)
    from scaffold import containers

    containers.split_run_xargs(getattr(args, "run_xargs", ""))  # refuse unsafe flags before any build
    image = spec_options.pop("image", None) or images.ensure_experiment(repo, config, args.exp, quiet=True)
    command = (
        containers.script_command(script_argv[1], script_argv[2:])
        if script_argv[:1] == ["python"]
        else script_argv
    )
    spec = containers.RunSpec(
        repo,
        args.exp,
        image,
        command,
        secrets=secrets,
        run_xargs=getattr(args, "run_xargs", ""),
        **spec_options,
    )
    return containers.run(spec)


def local(args) -> int:
    repo, config = repo_and_config()
    options = {}
    port = str(getattr(args, "port", "") or "").strip()
    if port:
        _check_port(port)
        if args.runner != "venv":
            from scaffold import containers

            containers.check_port_free(int(port))
            options["ports"] = {int(port): int(port)}
        # The script learns the published port; with RUNNER=venv it runs on the host, so nothing is published.
        options["extra_env" if args.runner != "venv" else "secrets"] = {"SCAFFOLD_PORT": port}
    return _run(args, repo, config, ["python", "local.py", *args.xargs], gpus=args.gpus, **options)


def _check_port(port) -> int:
    """PORT as a number a socket accepts (1-65535), else one line naming the bad value."""
    text = str(port).strip()
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ScaffoldError(f"PORT must be a port number (1-65535), got {text!r}")
    return int(text)


def terminal(args) -> int:
    repo, config = repo_and_config()
    if args.runner == "venv":
        raise ScaffoldError("terminal needs Docker; with RUNNER=venv, activate .venvs/<exp> yourself")
    return _run(args, repo, config, ["bash"], interactive=True)


def jupyter(args) -> int:
    from scaffold import containers, jupyter_image

    repo, config = repo_and_config()
    experiments.require(repo, args.exp)
    if args.runner == "venv":
        raise ScaffoldError("jupyter needs Docker; RUNNER=venv is for local runs")
    containers.split_run_xargs(args.run_xargs)  # refuse unsafe flags before any build
    containers.check_port_free(_check_port(args.port))
    base = images.ensure_experiment(repo, config, args.exp, quiet=True)
    image = jupyter_image.ensure(repo, args.exp, base)
    token = jupyter_image.new_token()
    repo.notebooks.mkdir(exist_ok=True)
    print(f"JupyterLab for {args.exp}: http://127.0.0.1:{args.port}/lab?token={token}", file=sys.stderr)
    print("stop it with Ctrl-C", file=sys.stderr)
    return _run(
        args,
        repo,
        config,
        jupyter_image.command(),
        image=image,
        ports={args.port: jupyter_image.PORT},
        mounts={repo.notebooks: "/project/notebooks"},
        secrets={"JUPYTER_TOKEN": token},
    )


def test(args) -> int:
    from scaffold import testing

    repo, config = repo_and_config()
    return testing.run_all(repo, config, args)


def test_scaffold(args) -> int:
    """The driver's own suite, on the host: it tests this scaffolding, not the user's experiments."""
    import subprocess

    repo, _ = repo_and_config()
    return subprocess.run([sys.executable, "-m", "pytest", "tests", *args.xargs], cwd=repo.root).returncode


def format(args) -> int:  # noqa: A001 - the command is called `format`
    import subprocess

    repo, _ = repo_and_config()
    bin_dir = Path(sys.executable).parent
    folders = ("scaffold", "tests", "benchmarks", "src", "experiment_template")
    targets = [p for p in folders if (repo.root / p).exists()]
    check = ["--check", "--diff"] if args.check else []
    steps = [
        [str(bin_dir / "isort"), *check, *targets],
        [str(bin_dir / "black"), *check, *targets],
        [str(bin_dir / "flake8"), *targets],
    ]
    failed = [Path(step[0]).name for step in steps if subprocess.run(step, cwd=repo.root).returncode != 0]
    if failed:
        raise ScaffoldError(f"format: {', '.join(failed)} reported problems (see above)", 1)
    return 0


def lock(args) -> int:
    """Re-resolve every requirements.txt (or one experiment's) into its requirements.lock."""
    from scaffold import lockfiles

    repo, _ = repo_and_config()
    if args.exp:
        lockfiles.compile_lock(experiments.require(repo, args.exp) / "docker" / "requirements.txt")
        return 0
    lockfiles.compile_lock(repo.root / "requirements.txt", lockfiles.HOST_PLATFORM)
    folders = [repo.experiment(name) for name in experiments.discover(repo)] + [
        repo.root / "experiment_template"
    ]
    for folder in folders:
        if (folder / "docker" / "requirements.txt").is_file():
            lockfiles.compile_lock(folder / "docker" / "requirements.txt")
    print("locked; run `make template` if experiment_template/ changed")
    return 0


def template(args) -> int:
    from scaffold.template import build_zip

    repo, _ = repo_and_config()
    count = build_zip(repo.root / "experiment_template", repo.template_zip)
    print(f"wrote {repo.template_zip.name} ({count} files)")
    return 0


def mlflow_ui(args) -> int:
    from scaffold import containers, tracking

    repo, _ = repo_and_config()
    containers.check_port_free(_check_port(args.port))
    return tracking.ui(repo, args.port, args.exp)
