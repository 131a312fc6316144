"""Run the four steps (prep, train, evaluate, register) locally, in order, as `make local` does.

Data: every CSV/Parquet file under <data>/<experiment>/raw/ (e.g. data/london_taxi/raw/ in the repository); if
there is none, a sample is generated there first. Outputs go to <data>/<experiment>/outputs/. <data> is
$DATA_DIR or ../data (the repository's data/ folder, as mounted in the container). Unknown options go to the
train step, e.g. `make local EXP=london_taxi XARGS="--max_iter 500"`.
"""

from __future__ import annotations

import sys

from experiment import EXPERIMENT

from common.steps.local import main

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
