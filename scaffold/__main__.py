"""`python -m scaffold`: the same commands as the Makefile, usable where make is not."""

import gc
import sys

from scaffold.cli import main

code = main()
# Exit without the final collection over the SDKs' module graphs (about 1 s after mlflow and azure-ai-ml are
# imported); atexit handlers still run, and the memory goes back to the system anyway.
gc.freeze()
sys.exit(code)
