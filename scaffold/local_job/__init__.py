"""Job YAMLs run on the laptop as Azure ML runs them: `make job EXP=x XARGS=--local` (see run.py)."""
