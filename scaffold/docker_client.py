"""A Docker SDK client, or one clear line when no daemon answers."""

from __future__ import annotations

from scaffold.errors import ScaffoldError


def connect():
    """Return a connected docker.DockerClient (imported lazily: it costs ~0.1 s)."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env()
        client.ping()
    except DockerException as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ScaffoldError(
            f"Docker daemon unreachable ({reason[:160]}); start Docker, or use RUNNER=venv to run without it"
        ) from None
    return client
