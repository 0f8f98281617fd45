"""Instances of an application: read, add, remove, request states, explain, plan.

Instance paths contain slashes, so they are always the query parameter ``path``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status

from roboconf.api.deps import Service
from roboconf.api.schemas import (
    BULK_ACTIONS,
    AddPlanIn,
    BulkAction,
    BulkPlanIn,
    CountOut,
    ExplainOut,
    InstanceOut,
    NewInstanceIn,
    PlanIn,
    PlanOut,
    RemovePlanIn,
    SelectionIn,
    StateIn,
    StateOut,
    StatePlanIn,
    errors,
)
from roboconf.dm.plan import (
    AddInstance,
    BulkChange,
    PlanRequest,
    RemoveInstance,
    StateChange,
    plan_to_json,
)
from roboconf.model import InstanceStatus

router = APIRouter(prefix="/applications/{app}", tags=["instances"])

InstancePath = Annotated[str, Query(description="The instance's path, e.g. /vm/db.")]


@router.get("/instances", responses=errors(404))
def list_instances(
    service: Service,
    app: str,
    under: Annotated[str | None, Query(description="Only this subtree.")] = None,
) -> list[InstanceOut]:
    """Every instance (or a subtree), parents before their children."""
    return [InstanceOut.model_validate(v) for v in service.instances(app, under=under)]


@router.get("/instance", responses=errors(404))
def get_instance(service: Service, app: str, path: InstancePath) -> InstanceOut:
    return InstanceOut.model_validate(service.instance(app, path))


@router.post("/instances", status_code=status.HTTP_201_CREATED, responses=errors(404, 409))
async def add_instance(service: Service, app: str, body: NewInstanceIn) -> InstanceOut:
    """Add an instance (NOT_DEPLOYED) under a parent, or as a root when ``parent`` is null."""
    view = await service.add_instance(app, body.parent, body.component, body.name, body.overrides)
    return InstanceOut.model_validate(view)


@router.delete("/instance", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404, 409))
async def remove_instance(service: Service, app: str, path: InstancePath) -> Response:
    """Remove an instance and its children; refused (409) unless all are NOT_DEPLOYED."""
    await service.remove_instance(app, path)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/instance/state", status_code=status.HTTP_202_ACCEPTED, responses=errors(404, 409))
async def request_state(service: Service, app: str, path: InstancePath, body: StateIn) -> StateOut:
    """Ask for a stable state; the instance gets there (or not) later: watch the events."""
    await service.request_state(app, path, body.status)
    return StateOut(requested=body.status, path=path)


def _bulk_route(action: BulkAction) -> None:
    """One route per bulk action, all alike: they differ by the action they pass on."""

    async def bulk(
        service: Service, app: str, body: Annotated[SelectionIn | None, Body()] = None
    ) -> CountOut:
        selection = body or SelectionIn()
        count = await service.bulk(app, action, selection.under, selection.component)
        return CountOut(instances=count)

    router.add_api_route(
        f"/{action}",
        bulk,
        methods=["POST"],
        status_code=status.HTTP_202_ACCEPTED,
        responses=errors(404),
        name=action.replace("-", "_"),
        summary=f"{action.replace('-', ' ').capitalize()} (all, a subtree or a component's)",
    )


for _action in BULK_ACTIONS:
    _bulk_route(_action)


@router.get("/explain", responses=errors(404))
def explain(service: Service, app: str, path: InstancePath) -> ExplainOut:
    """Why an instance is in its state (e.g. which imports it still waits for)."""
    view = service.instance(app, path)
    return ExplainOut(
        path=path, status=InstanceStatus(view.status), reasons=service.explain(app, path)
    )


@router.post("/plan", responses=errors(404))
def plan(service: Service, app: str, body: Annotated[PlanIn, Body()]) -> PlanOut:
    """What a request would do, in order, without doing it."""
    return PlanOut.model_validate(plan_to_json(service.plan(app, _plan_request(body))))


def _plan_request(body: StatePlanIn | BulkPlanIn | AddPlanIn | RemovePlanIn) -> PlanRequest:
    match body:
        case StatePlanIn():
            return StateChange(path=body.path, status=body.status)
        case BulkPlanIn():
            return BulkChange(action=body.action, under=body.under, component=body.component)
        case AddPlanIn():
            return AddInstance(
                parent=body.parent,
                component=body.component,
                name=body.name,
                overrides=body.overrides,
            )
        case RemovePlanIn():
            return RemoveInstance(path=body.path)
