"""Make the experiment folder importable and give every test its own MLflow store under tmp_path."""

from __future__ import annotations

import sys
from pathlib import Path

EXPERIMENT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(EXPERIMENT_DIR))
sys.path.insert(1, str(EXPERIMENT_DIR.parent))  # `import common` when run from the source tree

from common.testing import mlflow_store  # noqa: E402,F401 - the shared fixture, used by name
