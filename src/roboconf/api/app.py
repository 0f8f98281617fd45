"""The REST API of the DM service: ``create_app(service)`` gives the ASGI application.

Every route is under ``/api/v1``; the OpenAPI document is ``/api/v1/openapi.json``, the docs
``/api/v1/docs``. Errors are always JSON ``{"code", "message", "details"}``:

- a refusal of the DM service (:class:`~roboconf.dm.views.ServiceError`) keeps its code, with
  400 (bad input), 404 (unknown), 409 (conflicts with the current state) or 422 (an invalid
  template, ``details.diagnostics`` listing every problem);
- a request that does not validate (a missing field, a wrong type, malformed JSON) is a 400
  ``INVALID_REQUEST`` with pydantic's findings in ``details.errors``;
- an unknown route is a 404 ``NOT_FOUND``, a wrong method a 405 ``METHOD_NOT_ALLOWED``;
- anything else is a bug: logged with its traceback, answered 500 ``INTERNAL``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from roboconf import __version__
from roboconf.api import (
    routes_applications,
    routes_events,
    routes_instances,
    routes_messaging,
    routes_ops,
    routes_targets,
    routes_templates,
)
from roboconf.api.deps import ApiSettings
from roboconf.api.metrics import HttpMetrics, MetricsMiddleware
from roboconf.dm.service import DmService
from roboconf.dm.views import BadRequest, Conflict, InvalidTemplate, NotFound, ServiceError

log = logging.getLogger(__name__)

PREFIX = "/api/v1"

#: HTTP status of each kind of refusal (the first match along the exception's classes)
_STATUS: dict[type[ServiceError], int] = {
    InvalidTemplate: 422,
    NotFound: 404,
    Conflict: 409,
    BadRequest: 400,
    ServiceError: 400,
}
_HTTP_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}

_DESCRIPTION = """\
The Deployment Manager of Roboconf: templates, applications and their instances, targets,
events. Live events: Server-Sent Events at `GET /api/v1/events/stream` or a WebSocket at
`/api/v1/events` (query `application`, `after`), both sending the JSON of `EventOut`.
"""


def create_app(service: DmService, settings: ApiSettings | None = None) -> FastAPI:
    """The API over a running service (the caller owns the service's ``async with``)."""
    app = FastAPI(
        title="Roboconf DM",
        version=__version__,
        description=_DESCRIPTION,
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
    )
    app.state.service = service
    app.state.settings = settings or ApiSettings()
    app.state.http_metrics = HttpMetrics()
    for module in (
        routes_templates,
        routes_applications,
        routes_instances,
        routes_targets,
        routes_events,
        routes_messaging,
        routes_ops,
    ):
        app.include_router(module.router, prefix=PREFIX)
    app.add_middleware(MetricsMiddleware, metrics=app.state.http_metrics, prefix=PREFIX)
    app.add_exception_handler(ServiceError, _refused)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
    _document_errors_as_answered(app)
    return app


def _error(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "details": details or {}}, status_code=status
    )


async def _refused(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ServiceError)
    status = next(_STATUS[k] for k in type(error).__mro__ if k in _STATUS)
    details = {key: _plain(value) for key, value in error.details.items()}
    if isinstance(error, InvalidTemplate):
        details["diagnostics"] = [d.to_json() for d in error.diagnostics]
    return _error(status, error.code, error.message, details)


async def _invalid_request(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    found = [
        {"loc": [str(part) for part in e.get("loc", ())], "message": e["msg"], "type": e["type"]}
        for e in error.errors()
    ]
    first = found[0] if found else {"loc": [], "message": "invalid request"}
    where = ".".join(first["loc"]) or "the request"
    message = f"{where}: {first['message']} (see details.errors for all problems)"
    return _error(400, "INVALID_REQUEST", message, {"errors": found})


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    code = _HTTP_CODES.get(error.status_code, f"HTTP_{error.status_code}")
    where = f"{request.method} {request.url.path}"
    message = {
        404: f"{where} is not part of the API: see {PREFIX}/docs",
        405: f"{where}: this method is not allowed here (allowed: {_allowed(error)})",
    }.get(error.status_code, str(error.detail))
    response = _error(error.status_code, code, message)
    response.headers.update(error.headers or {})
    return response


async def _internal_error(request: Request, error: Exception) -> JSONResponse:
    log.error("%s %s failed", request.method, request.url.path, exc_info=error)
    message = "the DM failed to answer; its log says why (this is a bug: please report it)"
    return _error(500, "INTERNAL", message)


def _allowed(error: HTTPException) -> str:
    return (error.headers or {}).get("Allow", "none")


def _plain(value: object) -> object:
    """A value for JSON: tuples become lists, anything unknown its text."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def _document_errors_as_answered(app: FastAPI) -> None:
    """FastAPI documents a 422 ``HTTPValidationError`` on every route with parameters; this API
    answers 400 ``INVALID_REQUEST`` instead (documented on each route), so those go."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                body = responses.get("422", {}).get("content", {}).get("application/json", {})
                if body.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                    del responses["422"]
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
