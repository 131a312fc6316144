"""Under PYTHONDONTWRITEBYTECODE the driver caches bytecode in the venv's .pycache (scaffold/__init__.py)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = (
    "import importlib.util, sys; {imports}; import probe_module; "
    "print(importlib.util.cache_from_source(probe_module.__file__))"
)


def run_probe(tmp_path: Path, imports: str) -> Path:
    (tmp_path / "probe_module.py").write_text("VALUE = 1\n")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(imports=imports)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(done.stdout.strip())


def test_the_driver_caches_bytecode_in_the_venv_not_beside_the_sources(tmp_path):
    assert sys.prefix != sys.base_prefix, "the tests run in .venv"
    cached = run_probe(tmp_path, "import scaffold")
    assert cached.is_file() and cached.is_relative_to(Path(sys.prefix) / ".pycache")
    assert not (tmp_path / "__pycache__").exists()


def test_without_the_driver_nothing_is_written(tmp_path):
    """The check above is meaningful: the same import without scaffold writes nothing."""
    cached = run_probe(tmp_path, "pass")
    assert not cached.exists() and not (tmp_path / "__pycache__").exists()
