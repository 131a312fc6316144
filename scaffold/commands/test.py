"""`test`: each experiment's tests, with src/common's, in the experiment's own environment.

Every suite writes a JUnit report; the totals are summed into one closing line. The driver's own tests are
`make test-scaffold`.
"""

from __future__ import annotations

import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from scaffold import experiments
from scaffold.config import Config, repo_and_config
from scaffold.errors import ScaffoldError
from scaffold.paths import Repo

NO_TESTS = 5  # pytest's exit code when nothing was collected
REPORTS = "/tmp/scaffold-reports"  # the host's report folder, inside the container


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
        outcome.failed = int(not outcome.ok)
        return outcome
    root = ElementTree.parse(report).getroot()
    for node in [root] if root.tag == "testsuite" else root.findall("testsuite"):
        failed = int(node.get("failures", 0)) + int(node.get("errors", 0))
        skipped = int(node.get("skipped", 0))
        outcome.failed += failed
        outcome.skipped += skipped
        outcome.passed += int(node.get("tests", 0)) - failed - skipped
    return outcome


def run(args) -> int:
    repo, config = repo_and_config()
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
    report = f"{name}.xml"
    pytest = ["python", "-m", "pytest", "-p", "no:cacheprovider", *targets]
    if args.runner == "venv":
        from scaffold import venv_runner

        command = [*pytest, f"--junitxml={reports / report}", *args.xargs]
        return read_report(name, venv_runner.run(repo, name, command, config.secrets()), reports / report)
    from scaffold import containers, images

    try:
        image = images.ensure_experiment(repo, config, name, quiet=True)
    except ScaffoldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return Outcome(name, exc.exit_code, failed=1)
    command = [*pytest, f"--junitxml={REPORTS}/{report}", *args.xargs]
    spec = containers.RunSpec(repo, name, image, command, secrets=config.secrets(), mounts={reports: REPORTS})
    return read_report(name, containers.run(spec), reports / report)
