"""A per-name exclusive lock between driver processes, so two builds of one image do not both build it.

An flock on a small file under the user's cache folder ($XDG_CACHE_HOME or ~/.cache), never in the
repository or the temporary folder; the kernel releases it when the process ends, however it ends.
"""

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(name: str) -> Iterator[bool]:
    """Hold the lock called `name` for the block; yields False (no lock) when the cache is not writable."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(cache) / "scaffold" / "locks"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / f"{hashlib.sha256(name.encode()).hexdigest()[:24]}.lock", "a")
    except OSError:
        yield False
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield True
