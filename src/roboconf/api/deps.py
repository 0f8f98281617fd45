"""What routes receive from ``create_app``: the DM service, the API's settings and its request
metrics, all kept in the application's state (no module globals: two apps in one process stay
apart)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends
from starlette.requests import HTTPConnection

from roboconf.api.metrics import HttpMetrics
from roboconf.dm.service import DmService


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiSettings:
    #: seconds between two comment lines on an idle event stream (proxies close silent ones)
    heartbeat_s: float = 15.0


def _service(connection: HTTPConnection) -> DmService:
    return cast(DmService, connection.app.state.service)


def _settings(connection: HTTPConnection) -> ApiSettings:
    return cast(ApiSettings, connection.app.state.settings)


def _http_metrics(connection: HTTPConnection) -> HttpMetrics:
    return cast(HttpMetrics, connection.app.state.http_metrics)


#: a route parameter typed ``Service`` receives the DM service (HTTP and WebSocket routes alike)
Service = Annotated[DmService, Depends(_service)]
Settings = Annotated[ApiSettings, Depends(_settings)]
Metrics = Annotated[HttpMetrics, Depends(_http_metrics)]
