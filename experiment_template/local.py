"""Local entry point: runs main.py with local defaults (data in ../data, the repository's data/ folder).

`make local EXP=__EXP__ XARGS="--target other"` passes extra arguments to main.py.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import main

DATA_DIR = Path(os.environ.get("DATA_DIR", "../data"))
SAMPLE = DATA_DIR / "__EXP__" / "sample.csv"


def ensure_sample() -> Path:
    """Write a small sample CSV the first time, so the example runs on a fresh clone."""
    if not SAMPLE.exists():
        SAMPLE.parent.mkdir(parents=True, exist_ok=True)
        rows = ["id,value"] + [f"{i},{(i * 7) % 10 + 0.5}" for i in range(100)]
        # Written aside, then renamed: a run started at the same moment never reads half a file.
        partial = SAMPLE.with_name(f".{SAMPLE.name}.{uuid.uuid4().hex}")
        partial.write_text("\n".join(rows) + "\n")
        os.replace(partial, SAMPLE)
        print(f"no data found: wrote a sample to data/{SAMPLE.relative_to(DATA_DIR)}")
    return SAMPLE


if __name__ == "__main__":
    extra = sys.argv[1:]
    data = [] if "--data" in extra else ["--data", str(ensure_sample())]
    main.main(data + extra)
    print("see the run with: make mlflow-ui EXP=__EXP__")
