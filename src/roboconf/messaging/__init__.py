"""Messages, their codec and routing topology, and the transports (embedded router, AMQP).

- :mod:`.messages` — one frozen dataclass per message (pure); :mod:`.codec` — JSON bytes (pure).
- :mod:`.topology` — exchange, queue and routing-key names (pure).
- :mod:`.transport` — the :class:`Transport` interface; :mod:`.embedded` — in this process.
- :mod:`.clients` — :class:`AgentClient` and :class:`DmClient`, what the agent and DM use.
"""

from roboconf.messaging.clients import AgentClient, DmClient
from roboconf.messaging.codec import decode, encode
from roboconf.messaging.embedded import EmbeddedRouter
from roboconf.messaging.messages import (
    MESSAGE_TYPES,
    AddImport,
    AddInstance,
    Autonomic,
    ChangeBinding,
    ChangeInstanceState,
    ChangeLogLevel,
    Echo,
    GatherLogs,
    Heartbeat,
    InstanceChanged,
    InstanceRemoved,
    Logs,
    MachineDown,
    Message,
    RecipeFiles,
    RemoveImport,
    RemoveInstance,
    RequestImport,
    Resynchronize,
    SendInstances,
    SetScopedInstance,
    UpdateProbeConfiguration,
    recipe_digest,
    scoped_snapshot,
)
from roboconf.messaging.transport import Transport, TransportStatistics

__all__ = [
    "MESSAGE_TYPES",
    "AddImport",
    "AddInstance",
    "AgentClient",
    "Autonomic",
    "ChangeBinding",
    "ChangeInstanceState",
    "ChangeLogLevel",
    "DmClient",
    "Echo",
    "EmbeddedRouter",
    "GatherLogs",
    "Heartbeat",
    "InstanceChanged",
    "InstanceRemoved",
    "Logs",
    "MachineDown",
    "Message",
    "RecipeFiles",
    "RemoveImport",
    "RemoveInstance",
    "RequestImport",
    "Resynchronize",
    "SendInstances",
    "SetScopedInstance",
    "Transport",
    "TransportStatistics",
    "UpdateProbeConfiguration",
    "decode",
    "encode",
    "recipe_digest",
    "scoped_snapshot",
]
