"""`make` and `python -m scaffold --help` document every command, without heavy imports."""

import re
import shutil
import subprocess

from conftest import PYTHON, REPO, make


def phony_targets() -> list[str]:
    text = (REPO / "Makefile").read_text()
    return re.search(r"^\.PHONY:(.*)$", text, re.M).group(1).split()


def test_make_alone_prints_help_for_every_target():
    default = make(REPO)
    explicit = make(REPO, "help")
    assert default.returncode == explicit.returncode == 0
    assert default.stdout == explicit.stdout
    listed = re.findall(r"^  ([a-z][a-z-]*)\s{2,}\S", default.stdout, re.M)
    assert sorted(listed) == sorted(phony_targets())


def test_every_target_documents_its_arguments():
    help_text = make(REPO).stdout
    for target, variable in [
        ("new-exp", "EXP=name"),
        ("local", "RUN_XARGS"),
        ("job", "--dry-run"),
        ("data-asset", "PATH=p"),
    ]:
        line = next(line for line in help_text.splitlines() if line.split()[:1] == [target])
        assert variable in line


def test_driver_help_lists_commands_and_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from scaffold.cli import build_parser\n"
        "print(build_parser().format_help())\n"
        "heavy = [m for m in ('docker', 'mlflow', 'azure', 'azure.ai.ml', 'pandas') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([PYTHON, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    for command in (
        "new-exp",
        "build-exp",
        "local",
        "terminal",
        "jupyter",
        "test",
        "format",
        "mlflow-ui",
        "job",
    ):
        assert command in result.stdout
    assert "HEAVY []" in result.stdout


def test_driver_without_command_prints_help():
    result = subprocess.run([PYTHON, "-m", "scaffold"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0
    assert "COMMAND" in result.stdout


def test_command_line_variables_stay_with_their_make(tmp_path):
    """`make test XARGS=-k x` runs tests that run `make local ...`: that make must not inherit XARGS or EXP,
    neither from the environment nor from MAKEFLAGS. A probe target added to the real Makefile shows what
    a command (and so any make it starts) receives."""
    probe = tmp_path / "probe.mk"
    probe.write_text(
        "probe:\n\t@env\n\t@$(MAKE) -s -f Makefile -f $(PROBE) inner\n"
        "inner:\n\t@echo inner XARGS=[$(XARGS)]\n"
    )
    result = subprocess.run(
        [
            "make",
            "-s",
            "--no-print-directory",
            "-f",
            "Makefile",
            "-f",
            str(probe),
            "probe",
            "XARGS=-k leak",
            "EXP=leak",
            "RUN_XARGS=leak",
            f"PROBE={probe}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    environment = dict(
        line.split("=", 1)
        for line in result.stdout.splitlines()
        if "=" in line and not line.startswith("inner")
    )
    assert not {"XARGS", "EXP", "RUN_XARGS"} & set(environment)
    assert "leak" not in environment.get("MAKEFLAGS", "")
    assert "inner XARGS=[]" in result.stdout


def test_make_test_runs_the_users_suites_and_test_scaffold_the_drivers(fresh_repo):
    """`make test` is the experiments' and common's tests only; the driver's suite is `make test-scaffold`.

    The copy's driver suite is replaced by one probe test that leaves a mark, and its experiments removed, so
    both commands run in seconds and what each ran is plain."""
    shutil.rmtree(fresh_repo / "tests")
    (fresh_repo / "tests").mkdir()
    mark = fresh_repo / "driver-suite-ran"
    (fresh_repo / "tests" / "test_probe.py").write_text(
        f"from pathlib import Path\n\n\ndef test_probe():\n    Path({str(mark)!r}).touch()\n"
    )
    for folder in (fresh_repo / "src").iterdir():
        if folder.name != "common":
            shutil.rmtree(folder)

    result = make(fresh_repo, "test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not mark.exists(), "make test ran the driver's suite"
    assert "total: 0 passed, 0 failed" in result.stdout

    result = make(fresh_repo, "test-scaffold", "XARGS=-k probe")
    assert result.returncode == 0, result.stdout + result.stderr
    assert mark.exists() and "1 passed" in result.stdout
    assert "test-scaffold" in make(fresh_repo).stdout

    (fresh_repo / "tests" / "test_probe.py").write_text("def test_probe():\n    assert False\n")
    assert make(fresh_repo, "test-scaffold").returncode != 0
