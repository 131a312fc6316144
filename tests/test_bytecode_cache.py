"""The driver caches its imports' bytecode even under PYTHONDONTWRITEBYTECODE (scaffold/__init__.py)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_driver_writes_bytecode_despite_pythondontwritebytecode(tmp_path):
    module = tmp_path / "probe_module.py"
    module.write_text("VALUE = 1\n")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}
    code = "import sys; assert sys.dont_write_bytecode; import scaffold; import probe_module"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert list((tmp_path / "__pycache__").glob("probe_module.*.pyc"))


def test_without_the_driver_nothing_is_written(tmp_path):
    """The check above is meaningful: the same import without scaffold writes nothing."""
    (tmp_path / "probe_module.py").write_text("VALUE = 1\n")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(tmp_path)}
    subprocess.run([sys.executable, "-c", "import probe_module"], env=env, check=True)
    assert not (tmp_path / "__pycache__").exists()
