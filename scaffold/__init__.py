"""The driver behind the Makefile: `python -m scaffold <command>`. Commands import docker, mlflow and
azure.ai.ml lazily, so `--help` stays instant."""

import os
import sys

# Under PYTHONDONTWRITEBYTECODE (or -B) every command would compile mlflow and azure-ai-ml again (11 s instead
# of 3.6 s): keep their bytecode in the virtualenv's .pycache mirror tree, never beside the sources.
if sys.dont_write_bytecode and sys.prefix != sys.base_prefix:
    sys.pycache_prefix = os.path.join(sys.prefix, ".pycache")
    sys.dont_write_bytecode = False
