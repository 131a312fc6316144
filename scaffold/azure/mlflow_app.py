"""MLflow's tracking server app in one process: what `mlflow server` serves, started in half the time.

`mlflow server` (MLflow 3.15: mlflow/cli/__init__.py `server`, mlflow/server/__init__.py `_run_server`)
opens the stores, then starts uvicorn in a second process, which imports the app and opens the stores
again; by default it also starts a job runner (huey) for GenAI jobs the stand-in refuses anyway. Here one
process sets the variables `mlflow server` hands its app, opens the stores once (creating or migrating the
tables) and serves the same FastAPI app with uvicorn, as `mlflow server --workers 1` does.
tests/test_azureml_mlflow.py pins the MLflow version this was checked against.

    python -m scaffold.azure.mlflow_app FOLDER PORT  # 127.0.0.1:PORT, store and artifacts in FOLDER
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path


def serve(folder: Path, port: int) -> None:
    # uvicorn first, as in `mlflow server`'s uvicorn process: MLflow's app then takes its security middleware
    # (is_running_as_server in mlflow/server/__init__.py).
    import uvicorn
    from mlflow.server import constants

    store = f"sqlite:///{folder / 'mlflow.db'}"
    artifact_root = "mlflow-artifacts:/"  # what `mlflow server` uses when it serves artifacts
    os.environ[constants.BACKEND_STORE_URI_ENV_VAR] = store
    os.environ[constants.REGISTRY_STORE_URI_ENV_VAR] = store
    os.environ[constants.ARTIFACT_ROOT_ENV_VAR] = artifact_root
    os.environ[constants.SERVE_ARTIFACTS_ENV_VAR] = "true"
    os.environ[constants.ARTIFACTS_DESTINATION_ENV_VAR] = str(folder / "artifacts")
    from mlflow.server.handlers import initialize_backend_stores

    initialize_backend_stores(store, store, artifact_root)

    from mlflow.server.fastapi_app import app

    uvicorn.run(app, host="127.0.0.1", port=port, workers=1)
    gc.freeze()  # stop without collecting MLflow's module graph: the driver waits for this process to end


if __name__ == "__main__":
    serve(Path(sys.argv[1]).resolve(), int(sys.argv[2]))
