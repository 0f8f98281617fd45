"""The JSON the API reads and writes, as pydantic models: they make the OpenAPI document.

Responses are read straight from the DM service's views (``from_attributes``), so a view and its
JSON cannot drift apart without a type error here. Requests are validated before a route runs;
a request that does not fit is a 400 ``INVALID_REQUEST`` (see :mod:`roboconf.api.app`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from roboconf.model import InstanceStatus

#: what ``deploy-and-start-all``, ``stop-all`` and ``undeploy-all`` are called in paths and plans
BulkAction = Literal["deploy-and-start-all", "stop-all", "undeploy-all"]
BULK_ACTIONS: tuple[BulkAction, ...] = ("deploy-and-start-all", "stop-all", "undeploy-all")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class _In(BaseModel):
    """Unknown fields are refused: a misspelt field must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


# Errors


class ErrorOut(BaseModel):
    """Every error: an upper-case ``code`` for programs, a ``message`` for people."""

    code: str = Field(examples=["NOT_FOUND"])
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


_ERROR_TEXT = {
    400: "Bad input (`BAD_REQUEST`, or `INVALID_REQUEST` when the request does not validate)",
    404: "Unknown resource (`NOT_FOUND`)",
    409: "Conflicts with the current state (`CONFLICT`)",
    422: "Invalid template (`INVALID_TEMPLATE`, `details.diagnostics`)",
}


def errors(*statuses: int, bad_input: bool = True) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: its error statuses, all with :class:`ErrorOut` bodies.

    400 is there unless ``bad_input`` is False (a route without parameters nor body)."""
    wanted = {*statuses, 400} if bad_input else set(statuses)
    return {s: {"model": ErrorOut, "description": _ERROR_TEXT[s]} for s in sorted(wanted)}


# Templates


class ComponentOut(_Out):
    name: str
    installer: str | None
    extends: str | None
    facets: list[str]
    children: list[str]
    #: exported variable → default value ("" when none)
    exports: dict[str, str]
    #: imported variable → optional?
    imports: dict[str, bool]


class TemplateOut(_Out):
    name: str
    version: str
    description: str
    tags: list[str]
    uploaded_at: float
    applications: list[str]


class TemplateDetailOut(TemplateOut):
    exports_prefix: str | None
    components: list[ComponentOut]


class LoadTemplateIn(_In):
    path: str = Field(min_length=1, description="A template folder or zip on the DM's host.")


# Applications


class ApplicationIn(_In):
    name: str = Field(min_length=1)
    template: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str = ""


class ApplicationOut(_Out):
    name: str
    template: str
    version: str
    description: str
    created_at: float
    #: status → how many instances have it (statuses with none are left out)
    counts: dict[str, int]
    instances: int


class BindingIn(_In):
    applications: list[str] = Field(
        description="The applications whose exports the prefix accepts (replacing those bound "
        "before); none unbinds.",
        examples=[["balancer-prod"]],
    )


class BindingOut(BaseModel):
    prefix: str
    applications: list[str]


# Instances


class InstanceOut(_Out):
    path: str
    name: str
    component: str
    parent: str | None
    status: InstanceStatus
    desired: InstanceStatus | None
    reason: str | None
    overrides: dict[str, str]
    data: dict[str, str]
    #: prefix → provider paths
    imports: dict[str, list[str]]
    output_tail: str
    machine: str | None
    scoped: bool
    exports: dict[str, str]


class NewInstanceIn(_In):
    parent: str | None = Field(default=None, description="The parent's path; null for a root.")
    component: str = Field(min_length=1)
    name: str = Field(min_length=1)
    overrides: dict[str, str] = Field(default_factory=dict)


class StateIn(_In):
    status: InstanceStatus


class StateOut(BaseModel):
    requested: InstanceStatus
    path: str


class SelectionIn(_In):
    """Which instances a bulk action applies to: a subtree, a component's, or all of them."""

    under: str | None = None
    component: str | None = None


class CountOut(BaseModel):
    instances: int = Field(description="How many instances the request applies to.")


class ExplainOut(BaseModel):
    path: str
    status: InstanceStatus
    reasons: list[str]


# Plans: what a request would do


class StatePlanIn(_In):
    action: Literal["state"]
    path: str
    status: InstanceStatus


class BulkPlanIn(SelectionIn):
    action: BulkAction


class AddPlanIn(NewInstanceIn):
    action: Literal["add"]


class RemovePlanIn(_In):
    action: Literal["remove"]
    path: str


PlanIn = Annotated[
    StatePlanIn | BulkPlanIn | AddPlanIn | RemovePlanIn, Field(discriminator="action")
]


class PlannedStepOut(BaseModel):
    order: int = Field(description="From 1, in the order the steps would run.")
    machine: str
    path: str
    component: str
    step: str = Field(examples=["deploy"])
    #: prefix → provider path → variable → value (None: known once the provider runs)
    imports: dict[str, dict[str, dict[str, str | None]]]


class PlanOut(BaseModel):
    """What a request would do: machines created (parents first) and terminated (nested ones
    first), recipe steps in order, the end status of what it touches, what would be refused,
    and what would stay UNRESOLVED for want of a provider (path → prefixes)."""

    machines_to_create: list[str]
    machines_to_terminate: list[str]
    steps: list[PlannedStepOut]
    final: dict[str, InstanceStatus]
    refused: list[str]
    unresolved: dict[str, list[str]]


# Targets


class TargetIn(_In):
    properties: str = Field(
        min_length=1,
        description="A target definition, as in a .properties file (id, handler, ...).",
        examples=["id = local\nhandler = in-memory\n"],
    )


class TargetUseOut(_Out):
    application: str
    key: str


class TargetOut(_Out):
    id: str
    handler: str
    name: str
    description: str
    properties: str
    created_at: float
    usage: list[TargetUseOut]


class AssociationIn(_In):
    key: str = Field(
        min_length=1, description="An instance path, `@Component`, or `default`.", examples=["/vm"]
    )
    target_id: str = Field(min_length=1)


class AssociationOut(_Out):
    key: str
    target_id: str
    from_template: bool


# Preferences, events, operations


class PreferenceIn(_In):
    value: str


class PreferenceOut(BaseModel):
    key: str
    value: str


class EventOut(_Out):
    id: int
    at: float
    kind: str = Field(examples=["instance.changed"])
    application: str | None
    path: str | None
    status: str | None
    reason: str | None
    details: dict[str, Any]


class HealthOut(_Out):
    status: str
    applications: int
    templates: int
    uptime_s: float
    database: str


class MachineOut(_Out):
    path: str
    status: InstanceStatus
    up: bool
    silent_s: float | None
    machine_id: str | None
    target_id: str | None


class DiagnosisOut(_Out):
    path: str
    status: InstanceStatus
    reasons: list[str]
    machine: MachineOut | None
