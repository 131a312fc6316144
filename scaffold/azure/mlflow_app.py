"""MLflow's tracking server app in one process, limited to Azure ML's API: what `mlflow server` serves.

`mlflow server` (MLflow 3.15: mlflow/cli/__init__.py `server`, mlflow/server/__init__.py `_run_server`)
opens the stores, then starts uvicorn in a second process, which imports the app and opens the stores
again; by default it also starts a job runner (huey) for GenAI jobs the stand-in refuses anyway. Here one
process sets the variables `mlflow server` hands its app, opens the stores once (creating or migrating the
tables) and serves the same FastAPI app with uvicorn, as `mlflow server --workers 1` does, behind
AzureFilter. tests/test_azureml_mlflow.py pins the MLflow version this was checked against.

MLflow 3 answers 403 to a Host header it does not know (against DNS rebinding); the stand-in is reached by
the address it listens on and, from a container, as host.docker.internal (`docker run --add-host
host.docker.internal:host-gateway`): those two, with the port, are its `mlflow server --allowed-hosts`.

    python -m scaffold.azure.mlflow_app FOLDER FD READY_FD

serves on the listening socket FD (mlflow_service.serving binds it and passes it on), with the store and
artifacts in FOLDER, and writes a byte to READY_FD once the tables exist.
"""

from __future__ import annotations

import gc
import os
import socket
import sys
import warnings
from pathlib import Path

from scaffold.azure.mlflow_service import allowed

CONTAINER_HOST = "host.docker.internal"  # as scaffold/local_job/steps.py HOST_ALIAS


class AzureFilter:
    """Pass what Azure ML's MLflow service answers to `app`, unchanged; answer the rest 404 with an empty
    body, as Azure ML does, and note each refusal in `refused_log` (`METHOD path`)."""

    def __init__(self, app, refused_log: Path) -> None:
        self.app = app
        self.refused_log = refused_log

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and not allowed(scope["method"], scope["path"]):
            target = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
            if scope["query_string"]:
                target += "?" + scope["query_string"].decode("latin-1")
            with open(self.refused_log, "a") as log:
                log.write(f"{scope['method']} {target}\n")
            await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


def tracking_app(store: str, artifact_root: str, artifacts_destination: str = ""):
    """MLflow's FastAPI app over `store`, set up as `mlflow server` sets it up: tables created or migrated.
    With `artifacts_destination`, artifacts are served (proxied) from there, as `--serve-artifacts` does."""
    # uvicorn first, as in `mlflow server`'s uvicorn process: MLflow's app then takes its security middleware
    # (is_running_as_server in mlflow/server/__init__.py).
    import uvicorn  # noqa: F401
    from mlflow.server import constants

    os.environ[constants.BACKEND_STORE_URI_ENV_VAR] = store
    os.environ[constants.REGISTRY_STORE_URI_ENV_VAR] = store
    os.environ[constants.ARTIFACT_ROOT_ENV_VAR] = artifact_root
    if artifacts_destination:
        os.environ[constants.SERVE_ARTIFACTS_ENV_VAR] = "true"
        os.environ[constants.ARTIFACTS_DESTINATION_ENV_VAR] = artifacts_destination
    from mlflow.server.handlers import initialize_backend_stores

    initialize_backend_stores(store, store, artifact_root)

    # Starlette's deprecation notice for the WSGI bridge MLflow uses: nothing the user can act on.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="starlette.middleware.wsgi is deprecated")
        from mlflow.server.fastapi_app import app

    return app


def run(app, listener: socket.socket) -> None:
    """Serve `app` on the listening socket until SIGINT or SIGTERM, as `mlflow server --workers 1` does."""
    import uvicorn

    uvicorn.Server(uvicorn.Config(app, ws="none", workers=1)).run(sockets=[listener])
    gc.freeze()  # stop without collecting MLflow's module graph: whoever waits for this process waits less


def serve(folder: Path, listener: socket.socket, ready: int) -> None:
    """The stand-in: the store and artifacts in `folder`, behind AzureFilter; a byte to `ready` once the
    tables exist (the socket already listens: requests wait in its queue until uvicorn takes them)."""
    host, port = listener.getsockname()[:2]
    name = f"[{host}]" if ":" in host else host
    # Read when mlflow.server is imported (its Flask app) and again by the FastAPI app.
    os.environ["MLFLOW_SERVER_ALLOWED_HOSTS"] = f"{name}:{port},{CONTAINER_HOST}:{port}"
    store = f"sqlite:///{folder / 'mlflow.db'}"
    # "mlflow-artifacts:/" is what `mlflow server` uses when it serves artifacts.
    app = tracking_app(store, "mlflow-artifacts:/", str(folder / "artifacts"))
    os.write(ready, b"1")
    os.close(ready)
    run(AzureFilter(app, folder / "refused.log"), listener)


if __name__ == "__main__":
    serve(Path(sys.argv[1]).resolve(), socket.socket(fileno=int(sys.argv[2])), int(sys.argv[3]))
