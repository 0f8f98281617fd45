"""The platform, composed: the DM service, its messaging and its target handlers.

- messaging: the embedded router by default (agents in this process use it directly; agents in
  their own processes reach it through the DM's API, ``messaging.type = http``), or a RabbitMQ
  broker shared by the DM and every agent;
- targets: ``in-memory`` (one agent task per machine, in this process), ``local`` (one
  ``roboconf agent`` process per machine, on this host), ``embedded`` (existing hosts) and
  ``docker`` (a container per machine; the DM's API must listen where containers reach it);
  ``default_target`` picks the one of machines whose template ships no target.

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
from roboconf.errors import MessagingError
from roboconf.messaging.connect import dm_transport
from roboconf.messaging.settings import MessagingSettings, MessagingType
from roboconf.plugins.base import StepLimits
from roboconf.targets.base import MachineIdentity, TargetDefinition, TargetHandler
from roboconf.targets.docker import DockerHandler
from roboconf.targets.embedded import EmbeddedHandler
from roboconf.targets.in_memory import InMemoryHandler
from roboconf.targets.local import LocalHandler

#: agents run as tasks of the DM's process, real recipes
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

#: one agent process per machine, on this host
LOCAL = TargetDefinition(
    id="local",
    handler="local",
    name="local",
    description="one roboconf agent process per machine, on this host",
    properties={"id": "local", "handler": "local"},
)

#: a container per machine on this host's Docker engine, from the offline base image of the
#: tests (Debian 12 with python3: see examples/lamp/README.md)
DOCKER = TargetDefinition(
    id="docker",
    handler="docker",
    name="docker",
    description="a container per machine, on this host's Docker engine",
    properties={
        "id": "docker",
        "handler": "docker",
        "docker.generate.image.from": "roboconf-base:bookworm",
    },
)

DEFAULT_TARGETS = {"in-memory": IN_MEMORY, "local": LOCAL, "docker": DOCKER}


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
    #: the DM's messaging (embedded or http: the router in this process)
    messaging: MessagingSettings = field(default_factory=MessagingSettings)
    #: the DM's API address, which ``local`` agents use when the DM routes (not rabbitmq)
    dm_url: str | None = None
    #: the target of machines whose template ships none (of its handler, when it overrides):
    #: ``in-memory``, ``local`` or ``docker``
    default_target: str = "in-memory"
    #: the default target replaces the template's targets of other handlers (``--target``)
    default_target_overrides: bool = True


def agent_messaging(options: EmbeddedOptions) -> dict[str, str]:
    """The messaging settings agents in their own processes are told."""
    if options.messaging.type is MessagingType.RABBITMQ:
        return options.messaging.as_properties()
    if options.dm_url is None:
        return {}
    return MessagingSettings(
        type=MessagingType.HTTP, url=options.dm_url, domain=options.messaging.domain
    ).as_properties()


@contextlib.asynccontextmanager
async def embedded_service(options: EmbeddedOptions) -> AsyncIterator[DmService]:
    """A running DM service with its messaging and the in-memory and local targets."""
    transport = await dm_transport(options.messaging)
    services: list[DmService] = []

    def recipes_of(application: str) -> Path:
        return services[0].template_folder(application) / "graph"

    async def run_agent(identity: MachineIdentity, definition: TargetDefinition) -> None:
        real = definition.flag("in-memory.execute-real-recipes", default=True)
        settings = AgentSettings(
            data_dir=options.data_dir / "agents" / identity.application,
            recipes_root=recipes_of(identity.application),
            domain=identity.domain,
            heartbeat_period_s=options.heartbeat_s,
            simulate=options.simulate or not real,
            environment=dict(options.environment),
            limits=StepLimits(timeout_s=options.step_timeout_s),
        )
        agent = Agent(
            transport,
            application=identity.application,
            scoped_path=identity.scoped_path,
            settings=settings,
        )
        await agent.run()

    def local_agent(identity: MachineIdentity) -> dict[str, str]:
        return {
            "recipes.dir": str(recipes_of(identity.application)),
            "heartbeat.period": str(options.heartbeat_s),
            "step.timeout": str(options.step_timeout_s),
            "simulate": "true" if options.simulate else "false",
        }

    settings = ServiceSettings(
        data_dir=options.data_dir,
        database=options.database,
        dm=DmSettings(
            domain=options.messaging.domain,
            heartbeat_period_s=options.heartbeat_s,
            messaging=agent_messaging(options),
        ),
        default_target=DEFAULT_TARGETS[options.default_target],
        default_target_overrides=options.default_target_overrides,
        flush_s=options.flush_s,
    )
    local = LocalHandler(options.data_dir / "machines", local_agent)
    embedded = EmbeddedHandler()
    docker = DockerHandler(local_agent)
    try:
        async with InMemoryHandler(run_agent) as in_memory:
            handlers: dict[str, TargetHandler] = {
                in_memory.handler_id: in_memory,
                local.handler_id: local,
                embedded.handler_id: embedded,
                docker.handler_id: docker,
            }
            service = DmService(settings, transport, handlers)
            services.append(service)
            async with service:
                yield service
    finally:
        with contextlib.suppress(MessagingError):
            await transport.close()
