"""Run the hardening tests and write their figures (cases tried, faults survived, leftovers found) to the
`hardening` section of benchmarks/RESULTS.md.

    python tests/hardening_report.py [pytest arguments]

Needs what the tests need: a Docker daemon, BASE_IMAGE, and root with SCAFFOLD_FAULTS=1 for the daemon and
disk faults (skipped otherwise, and counted as skipped).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = {
    "test_bad_input": "bad input",
    "test_interrupts": "interrupts (SIGINT, SIGTERM)",
    "test_faults": "faults (daemon stopped, disk full, container killed)",
    "test_concurrency": "concurrency",
    "test_non_root": "ownership (non-root user)",
    "test_secrets": "secrets and exposure",
}


def run(extra: list[str]) -> tuple[dict[str, Counter], dict[str, list[str]], int]:
    """(outcomes per module, leftovers by kind, pytest's exit code)."""
    with tempfile.TemporaryDirectory() as folder:
        junit, found = Path(folder) / "junit.xml", Path(folder) / "leftovers.json"
        paths = [f"tests/{module}.py" for module in MODULES if (ROOT / "tests" / f"{module}.py").is_file()]
        code = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", *paths, f"--junitxml={junit}", *extra],
            cwd=ROOT,
            env={**os.environ, "SCAFFOLD_LEFTOVERS_FILE": str(found)},
        ).returncode
        outcomes: dict[str, Counter] = {module: Counter() for module in MODULES}
        for case in ElementTree.parse(junit).getroot().iter("testcase"):
            module = case.get("classname", "").split(".")[-1]
            if module not in outcomes:
                continue
            kinds = {child.tag for child in case}
            outcome = (
                "failed" if kinds & {"failure", "error"} else "skipped" if "skipped" in kinds else "passed"
            )
            outcomes[module][outcome] += 1
        leftovers = json.loads(found.read_text()) if found.is_file() else {"census": ["not taken"]}
    return outcomes, leftovers, code


def main() -> int:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from results import table, write_section

    outcomes, leftovers, code = run(sys.argv[1:])
    rows, total = [], Counter()
    for module, title in MODULES.items():
        counts = outcomes[module]
        total.update(counts)
        rows.append([title, sum(counts.values()), counts["passed"], counts["failed"], counts["skipped"]])
    rows.append(["**total**", sum(total.values()), total["passed"], total["failed"], total["skipped"]])
    faults = outcomes["test_faults"] + outcomes["test_interrupts"]
    left = sum(len(items) for items in leftovers.values())
    body = "\n\n".join(
        [
            "`python tests/hardening_report.py`: every case of tests/README.md run once "
            f"(as uid {os.geteuid()}, SCAFFOLD_FAULTS={os.environ.get('SCAFFOLD_FAULTS', 'unset')}).",
            table(["area", "cases tried", "passed", "failed", "skipped"], rows),
            f"- faults and interrupts survived: {faults['passed']} of {sum(faults.values())}\n"
            f"- leftovers found after the session (containers, test images, dangling images, staged folders, "
            f"changes to the checkout): {left} (target 0){': ' + json.dumps(leftovers) if left else ''}",
        ]
    )
    write_section("hardening", "Hardening", body)
    print(body)
    return code


if __name__ == "__main__":
    sys.exit(main())
