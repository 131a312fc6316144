"""`test`: each experiment's tests, with src/common's, in the experiment's own environment.

Every suite writes a JUnit report; the totals are summed into one closing line. The driver's own tests are
`make test-scaffold`.
"""

from __future__ import annotations

import signal
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from scaffold import experiments
from scaffold.config import Config, repo_and_config
from scaffold.errors import ScaffoldError
from scaffold.paths import Repo

USAGE_ERROR = 4  # pytest's exit code for an unknown option (XARGS)
NO_TESTS = 5  # pytest's exit code when nothing was collected
INTERRUPTED = (128 + signal.SIGINT, 128 + signal.SIGTERM)  # a suite's run stopped by Ctrl-C or SIGTERM
REPORTS = "/tmp/scaffold-reports"  # the host's report folder, inside the container


@dataclass
class Outcome:
    suite: str
    code: int
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    selected: bool = False  # EXP or XARGS chose the tests: none run is then an error, as pytest says

    @property
    def ok(self) -> bool:
        return self.code == 0 or (self.code == NO_TESTS and not self.selected)

    def summary(self) -> str:
        if self.code == USAGE_ERROR:
            return f"{self.suite}: pytest usage error (exit 4), see its message above"
        if self.code == NO_TESTS and self.selected:
            return f"{self.suite}: no tests ran (exit 5)"
        status = "ok" if self.ok else f"FAILED (exit {self.code})"
        return f"{self.suite}: {self.passed} passed, {self.failed} failed, {self.skipped} skipped {status}"


def read_report(suite: str, code: int, report: Path, selected: bool = False) -> Outcome:
    """Count tests from a JUnit XML report (missing report: the suite did not run)."""
    outcome = Outcome(suite, code, selected=selected)
    if not report.is_file():
        outcome.failed = int(code not in (0, NO_TESTS, USAGE_ERROR))
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
    outcomes: list[Outcome] = []
    interrupted = False
    with tempfile.TemporaryDirectory(prefix="scaffold-reports-") as reports:
        for name in names:
            outcomes.append(_experiment(repo, config, name, Path(reports), args))
            interrupted = outcomes[-1].code in INTERRUPTED
            if interrupted:
                break  # Ctrl-C stops the whole run, not just this experiment's suite
    print("\nsuite results:")
    for o in outcomes:
        print(f"  {o.summary()}")
    total = [sum(getattr(o, count) for o in outcomes) for count in ("passed", "failed", "skipped")]
    print("total: {} passed, {} failed, {} skipped".format(*total))
    if interrupted:
        return outcomes[-1].code
    return 0 if all(o.ok for o in outcomes) else 1


def _experiment(repo: Repo, config: Config, name: str, reports: Path, args) -> Outcome:
    """Run src/<name>/tests plus common's tests inside the experiment's own environment."""
    print(f"== {name} tests ({args.runner})", flush=True)
    selected = bool(args.exp or args.xargs)
    exp_dir = repo.experiment(name)
    targets = [t for t in ("tests", "../common/tests") if (exp_dir / t).is_dir()]
    if not targets:
        print(f"   {name} has no tests/ folder")
        return Outcome(name, NO_TESTS, selected=selected)
    report = f"{name}.xml"
    pytest = ["python", "-m", "pytest", "-p", "no:cacheprovider", *targets]
    if args.runner == "venv":
        from scaffold import venv_runner

        command = [*pytest, f"--junitxml={reports / report}", *args.xargs]
        code = venv_runner.run(repo, name, command, config.secrets())
        return read_report(name, code, reports / report, selected)
    from scaffold import containers, images

    try:
        image = images.ensure_experiment(repo, config, name, quiet=True)
    except ScaffoldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return Outcome(name, exc.exit_code, failed=1)
    command = [*pytest, f"--junitxml={REPORTS}/{report}", *args.xargs]
    spec = containers.RunSpec(repo, name, image, command, secrets=config.secrets(), mounts={reports: REPORTS})
    return read_report(name, containers.run(spec), reports / report, selected)
