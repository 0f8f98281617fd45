"""Choosing the port the DM's API listens on (light: no server library imported)."""

from __future__ import annotations

import socket


def available_port(host: str, preferred: int) -> int:
    """``preferred`` when it can be listened on, else a free port the system picks (the DM's
    address must be known before it serves: local agents are told it)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, preferred))
        except OSError:
            probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port
