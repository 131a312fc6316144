"""Make `import common` work when the tests run from the source tree (in containers PYTHONPATH does it)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
