"""A DM composed as ``roboconf dm`` composes it, its API (and its agents' ``http`` messaging)
served on a given address: for agents outside this process's loopback (containers, SSH hosts in
network namespaces)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

from roboconf.api import ApiSettings
from roboconf.cli.serving import serving
from roboconf.dm.manager import DmSettings
from roboconf.dm.service import DmService, ServiceSettings
from roboconf.messaging.connect import dm_transport
from roboconf.messaging.settings import MessagingSettings
from roboconf.targets.base import TargetHandler
from tests.helpers import free_port

#: the API's own heartbeats, frequent: tests see a lost connection soon
API = ApiSettings(heartbeat_s=0.5)

#: the handlers, given where an application's recipes are (its ``graph/`` folder)
Handlers = Callable[[Callable[[str], Path]], Mapping[str, TargetHandler]]


@contextlib.asynccontextmanager
async def served_dm(address: str, data_dir: Path, handlers: Handlers) -> AsyncIterator[DmService]:
    port = free_port(address)
    url = f"http://{address}:{port}"
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
            async with serving(service, address, port, api=API) as served:
                assert served == url, f"the API listens at {served}, not {url}"
                yield service
    finally:
        await transport.close()
