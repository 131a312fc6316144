"""Writes one benchmark's table into benchmarks/RESULTS.md, replacing only that benchmark's section."""

from __future__ import annotations

import platform
import re
import time
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = "# Benchmark results\n\nWritten by `make bench`; each section is replaced by its own benchmark.\n"


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(name: str, title: str, body: str) -> None:
    """Replace (or append) the section named `name` in RESULTS.md."""
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    stamp = (
        f"_{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, {_cores()} cores_"
    )
    section = f"<!-- bench:{name} -->\n## {title}\n\n{stamp}\n\n{body.strip()}\n<!-- /bench:{name} -->"
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
    text = (
        pattern.sub(lambda _: section, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + section + "\n"
    )
    RESULTS.write_text(text)


def _cores() -> int:
    import os

    return os.cpu_count() or 1
