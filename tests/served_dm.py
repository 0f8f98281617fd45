"""A DM composed as ``roboconf dm`` composes it, its API (and its agents' ``http`` messaging)
served on a given address: for agents outside this process's loopback (containers, SSH hosts in
network namespaces)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import uvicorn

from roboconf.api import ApiSettings, create_app
from roboconf.dm.manager import DmSettings
from roboconf.dm.service import DmService, ServiceSettings
from roboconf.messaging.connect import dm_transport
from roboconf.messaging.settings import MessagingSettings
from roboconf.targets.base import TargetHandler

#: the handlers, given where an application's recipes are (its ``graph/`` folder)
Handlers = Callable[[Callable[[str], Path]], Mapping[str, TargetHandler]]


@contextlib.asynccontextmanager
async def served_dm(address: str, data_dir: Path, handlers: Handlers) -> AsyncIterator[DmService]:
    listening = socket.socket()
    listening.bind((address, 0))
    url = f"http://{address}:{listening.getsockname()[1]}"
    transport = await dm_transport(MessagingSettings())
    services: list[DmService] = []

    def graph_of(application: str) -> Path:
        return services[0].template_folder(application) / "graph"

    settings = ServiceSettings(
        data_dir=data_dir,
        dm=DmSettings(
            heartbeat_period_s=1.0,
            shared_host=False,
            messaging={"messaging.type": "http", "http.url": url},
        ),
        flush_s=0.05,
    )
    try:
        async with DmService(settings, transport, dict(handlers(graph_of))) as service:
            services.append(service)
            app = create_app(service, ApiSettings(heartbeat_s=0.5))
            server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
            async with asyncio.TaskGroup() as group:
                serving = group.create_task(server.serve(sockets=[listening]))
                while not server.started and not serving.done():
                    await asyncio.sleep(0.01)
                try:
                    yield service
                finally:
                    server.should_exit = True
    finally:
        await transport.close()
