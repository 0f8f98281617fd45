"""Templates: upload (a zip), load from the DM's host, list, read, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from roboconf.api.deps import Service
from roboconf.api.schemas import LoadTemplateIn, TemplateDetailOut, TemplateOut, errors

router = APIRouter(prefix="/templates", tags=["templates"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=errors(409, 422))
async def upload_template(
    service: Service,
    file: Annotated[UploadFile, File(description="The template, zipped.")],
) -> TemplateOut:
    """Store a template; refused (409) when its name and version exist, 422 when invalid."""
    view = await service.upload_template(await file.read())
    return TemplateOut.model_validate(view)


@router.post("/load", status_code=status.HTTP_201_CREATED, responses=errors(409, 422))
async def load_template(service: Service, body: LoadTemplateIn) -> TemplateOut:
    """Store a template read from a folder or zip on the DM's own host."""
    return TemplateOut.model_validate(await service.load_template_from(body.path))


@router.get("", responses=errors())
def list_templates(
    service: Service,
    name: Annotated[str | None, Query()] = None,
    version: Annotated[str | None, Query()] = None,
    tag: Annotated[str | None, Query()] = None,
) -> list[TemplateOut]:
    views = service.list_templates(name=name, version=version, tag=tag)
    return [TemplateOut.model_validate(v) for v in views]


@router.get("/{name}/{version}", responses=errors(404))
def get_template(service: Service, name: str, version: str) -> TemplateDetailOut:
    """One template with its components."""
    return TemplateDetailOut.model_validate(service.get_template(name, version))


@router.delete(
    "/{name}/{version}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404, 409)
)
async def delete_template(service: Service, name: str, version: str) -> Response:
    """Refused (409) while an application uses it."""
    await service.delete_template(name, version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
