"""What the DM service answers: plain frozen values, ready to be turned into JSON by the API.

They are snapshots: reading one never exposes the DM's live records, which change as agents
report. Statuses are :class:`~roboconf.model.InstanceStatus` values (strings).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from roboconf.errors import Diagnostic, RoboconfError


class ServiceError(RoboconfError):
    """A request the DM service cannot honour; ``code`` names the kind for API clients."""

    code: ClassVar[str] = "BAD_REQUEST"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(ServiceError):
    code = "BAD_REQUEST"


class NotFound(ServiceError):
    code = "NOT_FOUND"


class Conflict(ServiceError):
    """The request contradicts the current state (e.g. deleting a deployed application)."""

    code = "CONFLICT"


class InvalidTemplate(ServiceError):
    """An uploaded template has errors; ``diagnostics`` say which, where."""

    code = "INVALID_TEMPLATE"

    def __init__(self, message: str, diagnostics: tuple[Diagnostic, ...]) -> None:
        super().__init__(message)
        self.diagnostics = diagnostics


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentView:
    name: str
    installer: str | None
    extends: str | None
    facets: tuple[str, ...]
    children: tuple[str, ...]
    #: exported variable → default value ("" when none)
    exports: Mapping[str, str]
    #: imported variable → optional?
    imports: Mapping[str, bool]


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateView:
    name: str
    version: str
    description: str
    tags: tuple[str, ...]
    uploaded_at: float
    #: the applications created from it
    applications: tuple[str, ...] = ()
    exports_prefix: str | None = None
    components: tuple[ComponentView, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationView:
    name: str
    template: str
    version: str
    description: str
    created_at: float
    #: status → how many instances have it (statuses with none are left out)
    counts: Mapping[str, int]
    instances: int


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceView:
    path: str
    name: str
    component: str
    parent: str | None
    status: str
    #: the last state requested for it (what the DM drives towards after a restart)
    desired: str | None
    reason: str | None
    overrides: Mapping[str, str]
    data: Mapping[str, str]
    #: prefix → provider paths, as its agent last reported
    imports: Mapping[str, tuple[str, ...]]
    output_tail: str
    #: the machine it runs on (itself for a machine)
    machine: str | None
    scoped: bool
    #: ``Component.variable`` → value, as it exports them
    exports: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetUse:
    application: str
    key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetView:
    id: str
    handler: str
    name: str
    description: str
    properties: str
    created_at: float
    usage: tuple[TargetUse, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AssociationView:
    #: an instance path, ``@Component``, or ``default``
    key: str
    target_id: str
    #: True when it comes from the template (``graph/<Component>/target.properties``)
    from_template: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MachineView:
    path: str
    status: str
    up: bool
    #: seconds since its last heartbeat (None before the first)
    silent_s: float | None
    machine_id: str | None
    target_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DiagnosisView:
    path: str
    status: str
    reasons: tuple[str, ...]
    machine: MachineView | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EventView:
    id: int
    at: float
    kind: str
    application: str | None = None
    path: str | None = None
    status: str | None = None
    reason: str | None = None
    details: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthView:
    status: str
    applications: int
    templates: int
    uptime_s: float
    database: str
