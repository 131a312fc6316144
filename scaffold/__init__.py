"""The driver behind the Makefile: `python -m scaffold <command>`.

Every command lives in its own module and imports heavy libraries (docker,
mlflow, azure.ai.ml) lazily, so `--help` stays instant.
"""

__version__ = "0.1.0"
