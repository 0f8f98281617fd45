"""The target handler contract: how machines are created, configured, checked and destroyed.

A target is a ``*.properties`` definition (``id``, ``handler``, ``name``, handler keys). A
handler turns it into machines; each machine runs one agent, which learns its identity
(application, scoped instance path, messaging settings) from the handler. Handlers are async,
idempotent where they can be, and fail with :class:`TargetError` carrying a sentence a user can
act on (bad credentials, quota, image not found...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from roboconf.errors import RoboconfError
from roboconf.project.properties import parse_properties


class TargetError(RoboconfError):
    """A machine could not be created, configured, checked or terminated; says why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetDefinition:
    id: str
    handler: str
    name: str = ""
    description: str = ""
    #: every key of the definition (handler keys included), after instance ``data.*`` overrides
    properties: Mapping[str, str] = field(default_factory=dict)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.properties.get(key, default)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.properties.get(key)
        return default if value is None else value.strip().lower() in ("true", "yes", "1", "on")

    def with_overrides(self, data: Mapping[str, str]) -> TargetDefinition:
        """The definition for one machine: instance data with the same keys win."""
        merged = dict(self.properties)
        merged.update({k: v for k, v in data.items() if k in merged or "." in k})
        return TargetDefinition(
            id=self.id,
            handler=self.handler,
            name=self.name,
            description=self.description,
            properties=merged,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MachineIdentity:
    """What an agent needs to know to join its application."""

    application: str
    scoped_path: str
    domain: str = "default"
    #: messaging settings (``messaging.type`` and its keys), passed to the agent as they are
    messaging: Mapping[str, str] = field(default_factory=dict)


def agent_configuration(
    target: TargetDefinition,
    identity: MachineIdentity,
    *layers: Mapping[str, str],
    prefix: str,
    handler_keys: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """The configuration keys of a machine's agent, later ones winning: its messaging, its
    identity, ``layers`` (what the handler and the composition root add), then the target's
    ``<prefix><key>`` entries (``local.agent.check.period = 2``) but ``handler_keys``."""
    configuration = {
        **identity.messaging,
        "application": identity.application,
        "scoped.path": identity.scoped_path,
        "domain": identity.domain,
    }
    for layer in layers:
        configuration.update(layer)
    configuration.update(
        (key[len(prefix) :], value)
        for key, value in target.properties.items()
        if key.startswith(prefix) and key not in handler_keys
    )
    return configuration


def properties_text(values: Mapping[str, str]) -> str:
    """``key = value`` lines that :func:`~roboconf.project.properties.parse_properties` reads
    back (backslashes and line breaks escaped)."""
    lines = []
    for key, value in values.items():
        escaped = value.replace("\\", "\\\\").replace("\n", "\\n")
        lines.append(f"{key} = {escaped}")
    return "\n".join(lines) + "\n"


#: what the composition root adds to an agent's configuration (recipes folder, periods...)
AgentProperties = Callable[[MachineIdentity], Mapping[str, str]]

#: the ``ip`` of an agent that reads its address from its route to the DM or the broker, again
#: before each heartbeat (``roboconf.agent.address``)
AUTO_ADDRESS = "auto"

#: the environment variables a handler may give an agent (``roboconf agent`` reads them) → the
#: configuration keys they set
AGENT_ENVIRONMENT: Mapping[str, str] = {
    "ROBOCONF_APPLICATION": "application",
    "ROBOCONF_SCOPED_PATH": "scoped.path",
    "ROBOCONF_DOMAIN": "domain",
    "ROBOCONF_AGENT_IP": "ip",
    "ROBOCONF_AGENT_DATA_DIR": "data.dir",
    "ROBOCONF_RECIPES_DIR": "recipes.dir",
    "ROBOCONF_MESSAGING_TYPE": "messaging.type",
    "ROBOCONF_RABBITMQ_URL": "rabbitmq.url",
    "ROBOCONF_HTTP_URL": "http.url",
}


class TargetHandler(Protocol):
    """One kind of machine factory. ``handler_id`` is what ``handler = ...`` names."""

    handler_id: str

    async def create_machine(self, target: TargetDefinition, identity: MachineIdentity) -> str:
        """Create (or reuse) a machine for ``identity``; return its id. Does not wait for it."""
        ...

    async def configure_machine(
        self, target: TargetDefinition, machine_id: str, identity: MachineIdentity
    ) -> None:
        """Finish setting the machine up once it exists (e.g. push the agent's identity)."""
        ...

    async def is_machine_running(self, target: TargetDefinition, machine_id: str) -> bool: ...

    async def terminate_machine(self, target: TargetDefinition, machine_id: str) -> None:
        """Destroy the machine; succeeds if it is already gone."""
        ...

    async def public_ip(self, target: TargetDefinition, machine_id: str) -> str | None: ...


def parse_target(text: str, source: str = "<input>") -> TargetDefinition:
    """A target definition from ``.properties`` text; :class:`TargetError` without id/handler."""
    values = dict(parse_properties(text).values)
    missing = [key for key in ("id", "handler") if not values.get(key, "").strip()]
    if missing:
        raise TargetError(f"{source}: the target definition has no {' nor '.join(missing)}")
    return TargetDefinition(
        id=values["id"].strip(),
        handler=values["handler"].strip(),
        name=values.get("name", "").strip(),
        description=values.get("description", "").strip(),
        properties=values,
    )
