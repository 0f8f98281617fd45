"""Targets (where machines come from) and which machines of an application use which."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from roboconf.api.deps import Service
from roboconf.api.schemas import AssociationIn, AssociationOut, TargetIn, TargetOut, errors

router = APIRouter(tags=["targets"])


@router.post("/targets", status_code=status.HTTP_201_CREATED, responses=errors())
async def create_target(service: Service, body: TargetIn) -> TargetOut:
    """Register a target from its properties text (its ``id`` names it); 409 if a target of
    that id exists (``PUT /targets/{id}`` replaces one)."""
    return TargetOut.model_validate(await service.put_target(body.properties))


@router.put("/targets/{target_id}", responses=errors())
async def put_target(service: Service, target_id: str, body: TargetIn) -> TargetOut:
    """Create or replace a target; the text's ``id`` must be ``target_id``."""
    return TargetOut.model_validate(await service.put_target(body.properties, target_id))


@router.get("/targets", responses=errors(bad_input=False))
def list_targets(service: Service) -> list[TargetOut]:
    return [TargetOut.model_validate(v) for v in service.list_targets()]


@router.get("/targets/{target_id}", responses=errors(404))
def get_target(service: Service, target_id: str) -> TargetOut:
    return TargetOut.model_validate(service.get_target(target_id))


@router.delete(
    "/targets/{target_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404, 409)
)
async def delete_target(service: Service, target_id: str) -> Response:
    """Refused (409) while a deployed machine was created from it."""
    await service.delete_target(target_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/applications/{app}/targets", responses=errors(404))
def list_associations(service: Service, app: str) -> list[AssociationOut]:
    """Which target each machine (path), component (``@Component``) or the default uses."""
    return [AssociationOut.model_validate(v) for v in service.associations(app)]


@router.put("/applications/{app}/targets", responses=errors(404))
async def associate(service: Service, app: str, body: AssociationIn) -> AssociationOut:
    """Associate a target with a machine path, ``@Component`` or ``default``."""
    view = await service.associate(app, body.key, body.target_id)
    return AssociationOut.model_validate(view)
