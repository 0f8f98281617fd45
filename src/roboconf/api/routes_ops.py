"""Running the DM: health, metrics, diagnosis, preferences."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from roboconf.api.deps import Metrics, Service
from roboconf.api.metrics import CONTENT_TYPE, exposition
from roboconf.api.schemas import (
    DiagnosisOut,
    HealthOut,
    PreferenceIn,
    PreferenceOut,
    errors,
)

router = APIRouter(tags=["operations"])


@router.get("/health", responses=errors(bad_input=False))
def health(service: Service) -> HealthOut:
    return HealthOut.model_validate(service.health())


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format 0.0.4",
            "content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
        },
    },
)
def metrics(service: Service, http: Metrics) -> Response:
    """Instances by status, machines, and the API's request counts and latencies."""
    return Response(exposition(service.gauges(), http), media_type=CONTENT_TYPE)


@router.get("/debug/diagnose", responses=errors(404))
def diagnose(
    service: Service, application: Annotated[str, Query(min_length=1)]
) -> list[DiagnosisOut]:
    """Per instance: status, why, and its machine (up or not, seconds since its heartbeat)."""
    return [DiagnosisOut.model_validate(v) for v in service.diagnose(application)]


@router.get("/preferences", responses=errors(bad_input=False))
def preferences(service: Service) -> dict[str, str]:
    return service.get_preferences()


@router.put("/preferences/{key}", responses=errors())
async def set_preference(service: Service, key: str, body: PreferenceIn) -> PreferenceOut:
    await service.set_preference(key, body.value)
    return PreferenceOut(key=key, value=body.value)
