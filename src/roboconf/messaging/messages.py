"""The messages exchanged by the DM and its agents (spec 30 §3): one frozen dataclass per type.

A message names instances by path (``/vm 1/tomcat``) and carries model values as they are
(:class:`~roboconf.model.types.Graph`, :class:`~roboconf.model.types.Instance`); the codec
(:mod:`roboconf.messaging.codec`) turns them into JSON and back. On the wire each message is an
object with ``type`` (the class name), ``version`` and the fields below.

Messages from agents carry their application, because the DM's queue receives every
application's notifications; agent-to-agent messages carry the sender's application, because
exports shared between applications (``external`` imports) travel on one exchange for all.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from roboconf.model.graph import is_target, resolved_installer
from roboconf.model.instances import lineage, rebuild
from roboconf.model.types import Graph, Instance, InstanceStatus

# -- DM → agent ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SetScopedInstance:
    """The agent's part of the model, sent when it asks for it (heartbeat flag) or it changes.

    ``root`` is the application's root instance holding the scoped instance: its ancestors
    (each with that one child only) and its whole subtree, without the machines nested in it
    (other agents run those). So ``walk([root])`` gives real paths. ``external_exports`` maps an
    internal variable to its alias for other applications (``HAProxy.ip`` → ``lb-ip``), published
    under ``exports_prefix``; ``bindings`` maps an external prefix to the applications whose
    exports are accepted for it; ``target_scripts`` are file name → content, run at start.
    """

    scoped_path: str
    graph: Graph
    root: Instance
    exports_prefix: str | None = None
    external_exports: Mapping[str, str] = field(default_factory=dict)
    bindings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    target_scripts: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class AddInstance:
    """A new instance (with its children) under ``parent_path``."""

    parent_path: str
    instance: Instance


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveInstance:
    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeInstanceState:
    """A request: ``requested`` is NOT_DEPLOYED, DEPLOYED_STOPPED or DEPLOYED_STARTED."""

    path: str
    requested: InstanceStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class SendInstances:
    """Report the state of every instance (one ``InstanceChanged`` each)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Resynchronize:
    """Republish the exports of every started instance and ask again for every import."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeBinding:
    """The applications whose exports an external prefix now accepts (empty: none)."""

    external_prefix: str
    applications: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateProbeConfiguration:
    """The probe files of a component (``Tomcat.measures`` and its ``.properties``): name → text."""

    component: str
    files: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeLogLevel:
    """A :mod:`logging` level name (``DEBUG``, ``INFO``…) for the agent's loggers."""

    level: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GatherLogs:
    """Send the agent's logs back (one ``Logs`` message)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecipeFiles:
    """A component's recipe files, relative POSIX path → content; sent once per deploy, before
    the requests that need them, and skipped when the agent already has ``digest``
    (:func:`recipe_digest`). Targets that share the DM's file system may not send them at all."""

    component: str
    files: Mapping[str, bytes]
    digest: str


# -- agent → DM ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Heartbeat:
    """Sent at connection, then periodically; ``model_required`` asks for the agent's model,
    ``recipes_required`` for the recipes with it (an agent that does not share the DM's files)."""

    application: str
    scoped_path: str
    ip: str | None = None
    model_required: bool = False
    recipes_required: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceChanged:
    """An instance's new state. ``imports`` maps each imported prefix to its providers' paths;
    ``reason`` says why (a failure, a missing import); ``output_tail`` ends the recipe's output."""

    application: str
    path: str
    status: InstanceStatus
    imports: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    reason: str = ""
    output_tail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceRemoved:
    application: str
    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MachineDown:
    """The agent is going away (its machine is being shut down)."""

    application: str
    scoped_path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Autonomic:
    """A probe's event held on the machine; ``values`` are what was measured."""

    application: str
    scoped_path: str
    event: str
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Logs:
    """The agent's log files, name → text (their tails when they are large)."""

    application: str
    scoped_path: str
    files: Mapping[str, str] = field(default_factory=dict)


# -- agent ↔ agent ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AddImport:
    """The exports of ``exporter_path`` (an instance of ``component``) for ``prefix``: variable
    full name (``Tomcat.port``) → value. Sent when it starts, and again when asked."""

    application: str
    prefix: str
    exporter_path: str
    component: str
    values: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveImport:
    """``exporter_path`` no longer exports ``prefix`` (stopped, undeployed, or lost)."""

    application: str
    prefix: str
    exporter_path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestImport:
    """Every started exporter of ``prefix``: please send your exports again."""

    application: str
    prefix: str


# -- DM ↔ DM, DM ↔ agent ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Echo:
    """A ping through the broker; whoever receives one addressed to it sends ``content`` back."""

    content: str


Message = (
    SetScopedInstance
    | AddInstance
    | RemoveInstance
    | ChangeInstanceState
    | SendInstances
    | Resynchronize
    | ChangeBinding
    | UpdateProbeConfiguration
    | ChangeLogLevel
    | GatherLogs
    | RecipeFiles
    | Heartbeat
    | InstanceChanged
    | InstanceRemoved
    | MachineDown
    | Autonomic
    | Logs
    | AddImport
    | RemoveImport
    | RequestImport
    | Echo
)

#: every message type, in the order above; ``type`` on the wire is the class name.
MESSAGE_TYPES: tuple[type[Message], ...] = (
    SetScopedInstance,
    AddInstance,
    RemoveInstance,
    ChangeInstanceState,
    SendInstances,
    Resynchronize,
    ChangeBinding,
    UpdateProbeConfiguration,
    ChangeLogLevel,
    GatherLogs,
    RecipeFiles,
    Heartbeat,
    InstanceChanged,
    InstanceRemoved,
    MachineDown,
    Autonomic,
    Logs,
    AddImport,
    RemoveImport,
    RequestImport,
    Echo,
)


def scoped_snapshot(graph: Graph, roots: Iterable[Instance], scoped_path: str) -> Instance | None:
    """The ``root`` of a :class:`SetScopedInstance` for ``scoped_path``; None if it is absent."""
    chain = lineage(roots, scoped_path)
    if not chain:
        return None

    def without_machines(_path: str, instance: Instance) -> Instance:
        kept = tuple(c for c in instance.children if not _is_machine(graph, c))
        if len(kept) == len(instance.children):
            return instance
        return dataclasses.replace(instance, children=kept)

    (node,) = rebuild((chain[-1],), without_machines)
    for ancestor in reversed(chain[:-1]):
        node = dataclasses.replace(ancestor, children=(node,))
    return node


def external_values(
    exports_prefix: str | None,
    external_exports: Mapping[str, str],
    values: Mapping[str, str | None],
) -> dict[str, str | None]:
    """What an exporter publishes for other applications, from its exported ``values`` (full
    names): each variable listed in ``external_exports`` under its alias, prefixed as Roboconf
    does (``HAProxy.ip`` as ``lb-ip`` with prefix ``Lb`` → ``Lb.lb-ip``). Empty when it exports
    none of them, or when the template has no exports prefix."""
    if exports_prefix is None:
        return {}
    return {
        f"{exports_prefix}.{alias}": values[name]
        for name, alias in external_exports.items()
        if name in values
    }


def recipe_digest(files: Mapping[str, bytes]) -> str:
    """A content hash of recipe files (paths and contents), for :class:`RecipeFiles`."""
    digest = hashlib.sha256()
    for path in sorted(files):
        encoded = path.encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "big") + encoded)
        digest.update(len(files[path]).to_bytes(8, "big") + files[path])
    return digest.hexdigest()


def _is_machine(graph: Graph, instance: Instance) -> bool:
    return is_target(resolved_installer(graph, instance.component))
