"""Argument definitions for the Azure ML commands (job, data-asset, compute); handlers import the SDK lazily."""

from __future__ import annotations

COMMANDS: dict = {}


def add_commands(command) -> None:
    """Register the Azure ML sub-commands on the driver's parser."""
