"""`make bench`: run every benchmarks/bench_*.py (or those named: `make bench XARGS="inner_loop job"`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    sys.path.insert(0, str(HERE.parent))
    sys.path.insert(0, str(HERE))
    modules = sorted(HERE.glob("bench_*.py"))
    if names:
        modules = [m for m in modules if m.stem.removeprefix("bench_") in names]
    failed = []
    for path in modules:
        print(f"== {path.stem}", flush=True)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        try:
            module.main([])
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            print(f"{path.stem} failed: {exc}", file=sys.stderr)
            failed.append(path.stem)
    print(f"results written to {HERE / 'RESULTS.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
