"""`python -m scaffold`: the same commands as the Makefile, usable where make is not."""

import sys

from scaffold.cli import main

sys.exit(main())
