"""The embedded platform, composed: the DM service with the embedded messaging router and the
in-memory target (one agent task per machine, in this process), ready to be served.

Used by ``roboconf dm`` and ``roboconf run``; tests compose the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from roboconf.agent.agent import Agent, AgentSettings
from roboconf.dm.manager import DmSettings
from roboconf.dm.service import DmService, ServiceSettings
from roboconf.messaging.embedded import EmbeddedRouter
from roboconf.plugins.base import StepLimits
from roboconf.targets.base import MachineIdentity, TargetDefinition
from roboconf.targets.in_memory import InMemoryHandler

#: the target of machines whose template ships none: agents in this process, real recipes
IN_MEMORY = TargetDefinition(
    id="in-memory",
    handler="in-memory",
    name="in-memory",
    description="agents run as tasks of the DM's process, on this host",
    properties={
        "id": "in-memory",
        "handler": "in-memory",
        "in-memory.execute-real-recipes": "true",
    },
)


@dataclass(frozen=True, slots=True, kw_only=True)
class EmbeddedOptions:
    data_dir: Path
    #: None: SQLite in ``data_dir``
    database: str | None = None
    #: simulated plug-ins everywhere (nothing is executed)
    simulate: bool = False
    heartbeat_s: float = 5.0
    step_timeout_s: float = 300.0
    #: what recipes see of the environment
    environment: Mapping[str, str] = field(default_factory=dict)
    flush_s: float = 0.1


@contextlib.asynccontextmanager
async def embedded_service(options: EmbeddedOptions) -> AsyncIterator[DmService]:
    """A running DM service on the embedded router and the in-memory target."""
    router = EmbeddedRouter()
    services: list[DmService] = []

    async def run_agent(identity: MachineIdentity, definition: TargetDefinition) -> None:
        real = definition.flag("in-memory.execute-real-recipes", default=True)
        folder = services[0].template_folder(identity.application)
        settings = AgentSettings(
            data_dir=options.data_dir / "agents" / identity.application,
            recipes_root=folder / "graph",
            heartbeat_period_s=options.heartbeat_s,
            simulate=options.simulate or not real,
            environment=dict(options.environment),
            limits=StepLimits(timeout_s=options.step_timeout_s),
        )
        agent = Agent(
            router,
            application=identity.application,
            scoped_path=identity.scoped_path,
            settings=settings,
        )
        await agent.run()

    settings = ServiceSettings(
        data_dir=options.data_dir,
        database=options.database,
        dm=DmSettings(heartbeat_period_s=options.heartbeat_s),
        default_target=IN_MEMORY,
        flush_s=options.flush_s,
    )
    async with InMemoryHandler(run_agent) as handler:
        service = DmService(settings, router, {handler.handler_id: handler})
        services.append(service)
        async with service:
            yield service
