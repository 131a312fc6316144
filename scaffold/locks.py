"""A per-name exclusive lock between driver processes, so two builds of one image do not both build it.

The lock is an flock on a small file under the user's cache folder ($XDG_CACHE_HOME or ~/.cache), never in
the repository or the temporary folder. The kernel releases it when the process ends, however it ends.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "scaffold" / "locks"


@contextmanager
def exclusive(name: str) -> Iterator[bool]:
    """Hold the lock called `name` for the block; yields False (no lock) when the cache is not writable."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:24]
    try:
        folder().mkdir(parents=True, exist_ok=True)
        handle = open(folder() / f"{digest}.lock", "a")
    except OSError:
        yield False
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield True
