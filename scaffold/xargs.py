"""Parses a command's XARGS (the options after its own): unknown or malformed ones are a one-line error."""

from __future__ import annotations

import argparse
import shlex

from scaffold.errors import ScaffoldError


class XargsParser(argparse.ArgumentParser):
    """argparse that remembers the options it was given, to name them when it refuses one."""

    def __init__(self, prog: str):
        self.option_names: list[str] = []
        super().__init__(prog=f"{prog} XARGS", exit_on_error=False)

    def add_argument(self, *names, **kwargs):
        if names and names[0].startswith("-") and kwargs.get("action") != "help":
            self.option_names.append(names[0])
        return super().add_argument(*names, **kwargs)


def parse(prog: str, xargs: list[str], define) -> argparse.Namespace | None:
    """Parse a command's XARGS with the options `define(parser)` adds. None after --help."""
    parser = XargsParser(prog)
    define(parser)
    try:
        options, unknown = parser.parse_known_args(xargs)
    except SystemExit as exc:
        if exc.code == 0:
            return None
        raise ScaffoldError(f"{prog} XARGS: cannot parse {shlex.join(xargs)}") from None
    except argparse.ArgumentError as exc:
        raise ScaffoldError(f"{prog} XARGS: {exc}") from None
    if unknown:
        expected = ", ".join(parser.option_names)
        raise ScaffoldError(f"{prog} XARGS: unknown {shlex.join(unknown)}; expected {expected}")
    return options
