"""The Azure ML parts: the workspace client, job YAML, jobs, data assets, compute and the MLflow stand-in."""
