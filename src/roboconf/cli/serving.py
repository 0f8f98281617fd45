"""Serving the DM's API with uvicorn, in the caller's event loop.

``roboconf dm`` serves until a signal; ``roboconf run`` serves beside its own work and handles
Ctrl-C itself, so its server leaves signals alone. Imported only by commands that serve: FastAPI
and uvicorn take a while to import, and ``roboconf validate`` or ``run --once`` need neither.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import uvicorn

from roboconf.api import ApiSettings, create_app
from roboconf.cli.ports import available_port
from roboconf.dm.service import DmService


class _QuietServer(uvicorn.Server):
    """A server that leaves signal handling to its host."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def config(
    service: DmService, host: str, port: int, log_level: str, api: ApiSettings | None = None
) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(service, api), host=host, port=port, log_level=log_level.lower()
    )


async def serve_until_signalled(service: DmService, host: str, port: int, log_level: str) -> bool:
    """Serve until SIGINT/SIGTERM; False when the server could not start (port taken...)."""
    server = uvicorn.Server(config(service, host, port, log_level))
    await server.serve()
    return server.started


@contextlib.asynccontextmanager
async def serving(
    service: DmService,
    host: str,
    port: int,
    log_level: str = "warning",
    api: ApiSettings | None = None,
) -> AsyncIterator[str]:
    """Serve in the background while the block runs; yields the API's URL. ``port`` falls
    back to a free one when it is taken."""
    port = available_port(host, port)
    server = _QuietServer(config(service, host, port, log_level, api))
    task = asyncio.create_task(server.serve(), name="api server")
    try:
        while not server.started:
            if task.done():
                await task
                raise OSError(f"the API could not listen on {host}:{port}")
            await asyncio.sleep(0.01)
        bound = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        await task
