"""The driver behind the Makefile: `python -m scaffold <command>`.

Every command lives in its own module and imports heavy libraries (docker,
mlflow, azure.ai.ml) lazily, so `--help` stays instant.
"""

import sys

__version__ = "0.1.0"

# The driver's processes cache the bytecode of what they import, even where PYTHONDONTWRITEBYTECODE is set
# (some shells and dev containers set it): .venv is the tool's own, and without the cache every command
# compiles mlflow and azure-ai-ml from source again (import 11 s instead of 3.6 s, measured here).
sys.dont_write_bytecode = False
