"""Applications: create from a template, list, read, shut down, delete; their components; their
bindings (which applications' exports an ``external`` import prefix accepts)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from roboconf.api.deps import Service
from roboconf.api.schemas import (
    ApplicationIn,
    ApplicationOut,
    BindingIn,
    BindingOut,
    ComponentOut,
    errors,
)

router = APIRouter(prefix="/applications", tags=["applications"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=errors(404, 409))
async def create_application(service: Service, body: ApplicationIn) -> ApplicationOut:
    """Create an application from a stored template (404 when the template is unknown)."""
    view = await service.create_application(
        body.name, body.template, body.version, description=body.description
    )
    return ApplicationOut.model_validate(view)


@router.get("", responses=errors(bad_input=False))
def list_applications(service: Service) -> list[ApplicationOut]:
    return [ApplicationOut.model_validate(v) for v in service.list_applications()]


@router.get("/{app}", responses=errors(404))
def get_application(service: Service, app: str) -> ApplicationOut:
    return ApplicationOut.model_validate(service.get_application(app))


@router.delete("/{app}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404, 409))
async def delete_application(service: Service, app: str) -> Response:
    """Refused (409) while any of its instances is deployed: shut it down first."""
    await service.delete_application(app)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{app}/shutdown", status_code=status.HTTP_202_ACCEPTED, responses=errors(404))
async def shutdown_application(service: Service, app: str) -> ApplicationOut:
    """Undeploy everything; answers at once with the application as it is now."""
    await service.shutdown_application(app)
    return ApplicationOut.model_validate(service.get_application(app))


@router.get("/{app}/components", responses=errors(404))
def list_components(service: Service, app: str) -> list[ComponentOut]:
    """The components of the application's graph."""
    return [ComponentOut.model_validate(c) for c in service.components(app)]


@router.get("/{app}/bindings", responses=errors(404))
def list_bindings(service: Service, app: str) -> dict[str, list[str]]:
    """External import prefix → the applications whose exports it accepts. A prefix that is
    not listed accepts none: its importers stay UNRESOLVED (optional imports aside)."""
    return {prefix: list(bound) for prefix, bound in service.bindings(app).items()}


@router.put("/{app}/bindings/{prefix}", responses=errors(404))
async def bind(service: Service, app: str, prefix: str, body: BindingIn) -> BindingOut:
    """Replace the applications bound to one of the application's external import prefixes;
    its agents are told at once. 404 for an unknown application (the bound ones included); 400
    when the application does not import ``external <prefix>.*`` or a bound application's
    template does not export under that prefix."""
    bound = await service.bind(app, prefix, body.applications)
    return BindingOut(prefix=prefix, applications=list(bound))


@router.delete(
    "/{app}/bindings/{prefix}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404)
)
async def unbind(service: Service, app: str, prefix: str) -> Response:
    """Accept no application for the prefix any more (404 when none was bound)."""
    await service.unbind(app, prefix)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
