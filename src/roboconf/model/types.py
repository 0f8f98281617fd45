"""The data of an application model: frozen values, no behaviour.

A graph holds components and facets keyed by name; references between them (``extends``,
``facets``, ``children``) are names, resolved by the functions of :mod:`roboconf.model.graph`, so
that a half-broken graph (an unknown child, a cycle) can still be represented and reported on.
Instances form a tree of frozen values; their identity is their path.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

EMPTY: Mapping[str, str] = MappingProxyType({})

#: the only random kind Roboconf knows: a free port allocated by the DM.
RANDOM_PORT = "port"


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceLocation:
    """Where a definition was read: a path relative to the template root, a 1-based line."""

    file: str
    line: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportedVariable:
    """A variable a component or facet exports, by local name (``port``, not ``Tomcat.port``).

    ``value`` is None when no value is given (``ip``, random variables). ``random_kind`` is
    None for ordinary variables, ``"port"`` for ``random[port]``, and whatever was written
    otherwise (reported as ``RM_INVALID_RANDOM_KIND``).
    """

    name: str
    value: str | None = None
    random: bool = False
    random_kind: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedVariable:
    """An import: ``Prefix.var`` or ``Prefix.*``, maybe ``(optional)``, maybe ``external``."""

    name: str
    optional: bool = False
    external: bool = False

    @property
    def prefix(self) -> str:
        return self.name.split(".", 1)[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class Facet:
    name: str
    extends: tuple[str, ...] = ()
    children: tuple[str, ...] = ()
    exports: Mapping[str, ExportedVariable] = field(default_factory=dict)
    documentation: str = ""
    location: SourceLocation | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Component:
    name: str
    installer: str | None = None
    extends: str | None = None
    facets: tuple[str, ...] = ()
    children: tuple[str, ...] = ()
    exports: Mapping[str, ExportedVariable] = field(default_factory=dict)
    imports: Mapping[str, ImportedVariable] = field(default_factory=dict)
    documentation: str = ""
    location: SourceLocation | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Graph:
    """Components and facets by name. Names are unique across both (else CO_CONFLICTING_NAME)."""

    components: Mapping[str, Component] = field(default_factory=dict)
    facets: Mapping[str, Facet] = field(default_factory=dict)


class InstanceStatus(enum.Enum):
    NOT_DEPLOYED = "NOT_DEPLOYED"
    DEPLOYING = "DEPLOYING"
    DEPLOYED_STOPPED = "DEPLOYED_STOPPED"
    UNRESOLVED = "UNRESOLVED"
    WAITING_FOR_ANCESTOR = "WAITING_FOR_ANCESTOR"
    STARTING = "STARTING"
    DEPLOYED_STARTED = "DEPLOYED_STARTED"
    STOPPING = "STOPPING"
    UNDEPLOYING = "UNDEPLOYING"
    PROBLEM = "PROBLEM"

    @property
    def is_stable(self) -> bool:
        return self not in _TRANSITIONAL


_TRANSITIONAL = frozenset(
    {
        InstanceStatus.DEPLOYING,
        InstanceStatus.STARTING,
        InstanceStatus.STOPPING,
        InstanceStatus.UNDEPLOYING,
        InstanceStatus.PROBLEM,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Instance:
    """One node of the instance tree.

    ``overrides`` maps an exported variable (local or full name, as written) to its value for
    this instance; ``data`` holds runtime data (``data.*`` lines, IP address, machine id...).
    """

    name: str
    component: str
    children: tuple[Instance, ...] = ()
    overrides: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, str] = field(default_factory=dict)
    status: InstanceStatus = InstanceStatus.NOT_DEPLOYED
    channels: tuple[str, ...] = ()
    location: SourceLocation | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationDescriptor:
    """``descriptor/application.properties``, keys already normalised (no ``application-``)."""

    name: str | None = None
    version: str | None = None
    description: str = ""
    tags: tuple[str, ...] = ()
    dsl_id: str | None = None
    graph_entry_point: str | None = None
    instance_entry_point: str | None = None
    exports_prefix: str | None = None
    #: internal variable (``HAProxy.ip``) → alias as written (``lb-ip``)
    external_exports: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationTemplate:
    """What a template folder or zip loads into (recipes stay on disk, listed by path)."""

    descriptor: ApplicationDescriptor
    graph: Graph
    instances: tuple[Instance, ...] = ()
    #: every file of the template, relative POSIX path → size in bytes
    files: Mapping[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str | None:
        return self.descriptor.name

    @property
    def version(self) -> str | None:
        return self.descriptor.version
