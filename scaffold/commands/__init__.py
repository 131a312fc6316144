"""One module per driver command, each with `run(args) -> int`; cli.py imports the one it runs."""
