"""`make test`: each experiment's tests, with src/common's, in the experiment's own environment.

Every suite writes a JUnit report; the totals are summed into one closing line. The driver's own tests are
`make test-scaffold` (scaffold/commands/test_scaffold.py).
"""

from __future__ import annotations

import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from scaffold import experiments
from scaffold.config import Config
from scaffold.errors import ScaffoldError
from scaffold.paths import Repo

NO_TESTS = 5  # pytest's exit code when nothing was collected
REPORTS = "/tmp/scaffold-reports"


@dataclass
class Outcome:
    suite: str
    code: int
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def ok(self) -> bool:
        return self.code in (0, NO_TESTS)


def read_report(suite: str, code: int, report: Path) -> Outcome:
    """Count tests from a JUnit XML report (missing report: the suite did not run)."""
    outcome = Outcome(suite, code)
    if not report.is_file():
        if code not in (0, NO_TESTS):
            outcome.failed = 1
        return outcome
    root = ElementTree.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    for node in suites:
        total = int(node.get("tests", 0))
        failed = int(node.get("failures", 0)) + int(node.get("errors", 0))
        skipped = int(node.get("skipped", 0))
        outcome.failed += failed
        outcome.skipped += skipped
        outcome.passed += total - failed - skipped
    return outcome


def run_all(repo: Repo, config: Config, args) -> int:
    if args.exp:
        experiments.require(repo, args.exp)
    names = [args.exp] if args.exp else experiments.discover(repo)
    with tempfile.TemporaryDirectory(prefix="scaffold-reports-") as reports:
        outcomes = [_experiment(repo, config, name, Path(reports), args) for name in names]
    print("\nsuite results:")
    for o in outcomes:
        status = "ok" if o.ok else f"FAILED (exit {o.code})"
        print(f"  {o.suite}: {o.passed} passed, {o.failed} failed, {o.skipped} skipped {status}")
    total = [sum(getattr(o, count) for o in outcomes) for count in ("passed", "failed", "skipped")]
    print("total: {} passed, {} failed, {} skipped".format(*total))
    return 0 if all(o.ok for o in outcomes) else 1


def _experiment(repo: Repo, config: Config, name: str, reports: Path, args) -> Outcome:
    """Run src/<name>/tests plus common's tests inside the experiment's own environment."""
    print(f"== {name} tests ({args.runner})", flush=True)
    exp_dir = repo.experiment(name)
    targets = [t for t in ("tests", "../common/tests") if (exp_dir / t).is_dir()]
    if not targets:
        print(f"   {name} has no tests/ folder")
        return Outcome(name, NO_TESTS)
    report_name = f"{name}.xml"
    pytest = ["python", "-m", "pytest", "-p", "no:cacheprovider", *targets]
    if args.runner == "venv":
        from scaffold import venv_runner

        report = reports / report_name
        code = venv_runner.run(repo, name, [*pytest, f"--junitxml={report}", *args.xargs], config.secrets())
        return read_report(name, code, report)
    from scaffold import containers, images

    try:
        image = images.ensure_experiment(repo, config, name, quiet=True)
    except ScaffoldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return Outcome(name, exc.exit_code, failed=1)
    spec = containers.RunSpec(
        repo,
        name,
        image,
        [*pytest, f"--junitxml={REPORTS}/{report_name}", *args.xargs],
        secrets=config.secrets(),
        mounts={reports: REPORTS},
    )
    code = containers.run(spec)
    return read_report(name, code, reports / report_name)
