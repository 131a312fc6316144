"""The driver behind the Makefile: `python -m scaffold <command>`.

Every command lives in its own module and imports heavy libraries (docker,
mlflow, azure.ai.ml) lazily, so `--help` stays instant.
"""

import os
import sys

__version__ = "0.1.0"

# Where PYTHONDONTWRITEBYTECODE (or -B) is set, as some shells and dev containers do, every command would
# compile mlflow and azure-ai-ml from source again (their import: 11 s instead of 3.6 s, measured here). So
# the driver's processes keep the bytecode of what they import in the virtualenv's own .pycache mirror tree,
# never beside the sources, which the setting is meant to keep clean.
if sys.dont_write_bytecode and sys.prefix != sys.base_prefix:
    sys.pycache_prefix = os.path.join(sys.prefix, ".pycache")
    sys.dont_write_bytecode = False
