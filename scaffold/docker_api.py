"""A tiny Docker Engine API client for the one question asked on every run: does this image exist?

Importing the Docker SDK costs ~0.1 s; asking the daemon over its Unix socket costs ~1 ms. This is
what keeps an unchanged `make build-exp` faster than `docker build`'s own cache check. Anything it
cannot answer (TCP or SSH daemons, odd replies) returns None, and the caller uses the SDK.
"""

from __future__ import annotations

import os
import socket

DEFAULT_SOCKET = "/var/run/docker.sock"


def socket_path() -> str | None:
    host = os.environ.get("DOCKER_HOST", "")
    if not host:
        return DEFAULT_SOCKET if os.path.exists(DEFAULT_SOCKET) else None
    return host[len("unix://") :] if host.startswith("unix://") else None


def _status(path: str, request_path: str, timeout: float = 10) -> int:
    """HTTP status of a GET on the daemon's socket (HTTP/1.0: the daemon closes when done)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(f"GET {request_path} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
        head = b""
        while b"\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def image_exists(tag: str) -> bool | None:
    """True or False as the daemon says; None when this fast path cannot tell."""
    path = socket_path()
    if path is None or not hasattr(socket, "AF_UNIX"):
        return None
    try:
        status = _status(path, "/images/" + tag.replace("%", "%25").replace("/", "%2F") + "/json")
    except OSError:
        return None
    return {200: True, 404: False}.get(status)


def daemon_answers() -> bool | None:
    """True when the daemon answers a ping, False when its socket refuses; None when this cannot tell."""
    host = os.environ.get("DOCKER_HOST", "")
    if (host and not host.startswith("unix://")) or not hasattr(socket, "AF_UNIX"):
        return None
    path = socket_path()
    if path is None:
        return False  # the default socket is gone: its daemon has stopped
    try:
        return _status(path, "/_ping", timeout=5) == 200
    except OSError:
        return False
