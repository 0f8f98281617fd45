"""Choosing the address and port the DM's API listens on (light: no server library imported)."""

from __future__ import annotations

import socket

import typer

from roboconf.targets.base import TargetError

#: the targets ``roboconf run`` and ``roboconf dm`` give machines whose template ships none
TARGETS = ("in-memory", "local", "docker")
LOOPBACK = "127.0.0.1"
ANY = ("0.0.0.0", "::", "")


def api_addresses(target: str, host: str | None) -> tuple[str, str]:
    """Where the DM's API listens, and the address its agents are told. Agents in containers
    (``docker`` target) do not reach the loopback: by default the API listens on the Docker
    bridge's address, and when it listens everywhere, agents are told that address. Exits with
    the reason when the docker target has no engine."""
    listen = host if host is not None else LOOPBACK
    if target == "docker" and (host is None or host in ANY):
        bridge = _docker_bridge()
        return (bridge if host is None else listen), bridge
    return listen, (LOOPBACK if listen in ANY else listen)


def _docker_bridge() -> str:
    from roboconf.targets.docker_network import bridge_gateway

    try:
        return bridge_gateway()
    except TargetError as error:
        typer.echo(f"error: --target docker: {error}", err=True)
        raise typer.Exit(1) from None


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
