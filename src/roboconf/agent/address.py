"""The machine's address, read from the route to the messaging server.

An agent configured with ``ip = auto`` (the docker handler's default) takes as its address the
one this host uses to reach the DM or the broker: on a container, its address on the network it
shares with them. It is read again before each heartbeat, so that a machine that comes back on
its network with another address (a container reconnected) is reached at the new one.
"""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit

DEFAULT_PORTS = {"amqp": 5672, "amqps": 5671, "http": 80, "https": 443, "ws": 80, "wss": 443}


def route_address(url: str) -> str | None:
    """This host's address on its route to ``url``'s host (the kernel's choice of a source
    address: nothing is sent); None without such a route (a machine cut off its network)."""
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
        family, _, _, _, target = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_DGRAM)[
            0
        ]
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect(target)
            return str(probe.getsockname()[0])
    except (OSError, ValueError):
        return None


async def read_route_address(url: str) -> str | None:
    """:func:`route_address` off the event loop (resolving a host name may take a while)."""
    return await asyncio.to_thread(route_address, url)
