"""Azure ML's batch scoring loop, run inside the deployment's container: `python batch_runner.py SETTINGS`.

SETTINGS (JSON from deploy_batch.py) names the scoring script, the mini-batches and the deployment's settings.
init() runs once, run(mini_batch) per mini-batch, retried up to max_retries times on an exception or past the
timeout (s). With append_row, each returned row's values are appended joined by a space (no header, no
index). A mini-batch that still fails fails all its files; past error_threshold failed files (-1: no limit)
the run stops. The outcome goes to the result file. Mounted read-only; the standard library only.
"""

import importlib.util
import json
import os
import signal
import sys
import traceback
from pathlib import Path


def one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def load_script(path: Path):
    """The scoring script as a module, with its folder on sys.path (as Azure ML runs it)."""
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def attempt(run, mini_batch: list, retries: int, timeout: int):
    """(what run() returned, "") or (None, why the last attempt failed)."""

    def expired(_signum, _frame):
        raise TimeoutError(f"run() took longer than the timeout ({timeout} s)")

    signal.signal(signal.SIGALRM, expired)
    reason = ""
    for number in range(retries + 1):
        signal.alarm(max(int(timeout), 0))
        try:
            return run(mini_batch), ""
        except Exception as exc:  # noqa: BLE001 - any failure of run() fails this attempt
            reason = one_line(exc)
            print(f"runner: mini-batch attempt {number + 1} failed: {reason}", file=sys.stderr, flush=True)
        finally:
            signal.alarm(0)
    return None, reason


def append_rows(result, sink) -> int:
    """Append run()'s rows as append_row does; the number of rows."""
    if hasattr(result, "to_csv"):
        result.to_csv(sink, sep=" ", header=False, index=False, lineterminator="\n")
        return len(result)
    rows = list(result)
    for row in rows:
        sink.write((" ".join(map(str, row)) if isinstance(row, (list, tuple)) else str(row)) + "\n")
    return len(rows)


def score(settings: dict, outcome: dict) -> None:
    driver = load_script(Path(settings["scoring_script"]))
    try:
        driver.init()
    except Exception as exc:  # noqa: BLE001 - reported in one line, the traceback goes to the log
        traceback.print_exc()
        outcome["error"] = f"init() failed: {one_line(exc)}"
        return
    threshold, failed = settings["error_threshold"], outcome["failed_files"]
    with open(settings["output"] if settings["append_row"] else os.devnull, "w") as sink:
        for mini_batch in settings["mini_batches"]:
            result, reason = attempt(driver.run, mini_batch, settings["max_retries"], settings["timeout"])
            if result is None:
                failed += [[Path(path).name, reason] for path in mini_batch]
                if 0 <= threshold < len(failed):
                    outcome["error"] = (
                        f"{len(failed)} file(s) failed, more than error_threshold ({threshold}): {reason}"
                    )
                    return
                continue
            outcome["mini_batches"] += 1
            outcome["rows"] += append_rows(result, sink)
            sink.flush()


def main(path: str) -> int:
    settings = json.loads(Path(path).read_text())
    outcome = {"rows": 0, "mini_batches": 0, "failed_files": [], "error": ""}
    try:
        score(settings, outcome)
    finally:
        Path(settings["result"]).write_text(json.dumps(outcome))
    return 1 if outcome["error"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
