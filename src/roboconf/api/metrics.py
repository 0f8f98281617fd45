"""Prometheus metrics: the DM's gauges and the API's own request counts and latencies.

Written in the text exposition format 0.0.4 directly (a few lines; no client library needed).
Requests are labelled by route *template* (``/api/v1/applications/{app}``), never by the raw
path, so that random paths cannot grow the number of series without bound; what no API route
answers (unknown paths, the docs and the OpenAPI document) is labelled ``other``.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: upper bounds (seconds) of the latency histogram's buckets
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

#: (metric name, help, labels, value), as :meth:`DmService.gauges` gives them
Gauge = tuple[str, str, Mapping[str, str], float]


@dataclass(slots=True)
class _Series:
    #: per bucket (not cumulative); the last one is +Inf
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total_s: float = 0.0


@dataclass(slots=True)
class HttpMetrics:
    """Request counts and a latency histogram per (route, method, status)."""

    _series: dict[tuple[str, str, str], _Series] = field(default_factory=dict)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        series = self._series.setdefault((route, method, str(status)), _Series())
        series.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        series.total_s += seconds

    def lines(self) -> Iterable[str]:
        name = "roboconf_http_request_duration_seconds"
        yield f"# HELP {name} Time to answer an HTTP request, by route, method and status."
        yield f"# TYPE {name} histogram"
        for (route, method, status), series in sorted(self._series.items()):
            labels = {"route": route, "method": method, "status": status}
            cumulated = 0
            for bound, count in zip((*BUCKETS, math.inf), series.counts, strict=True):
                cumulated += count
                le = {**labels, "le": _number(bound)}
                yield f"{name}_bucket{_labels(le)} {cumulated}"
            yield f"{name}_sum{_labels(labels)} {_number(series.total_s)}"
            yield f"{name}_count{_labels(labels)} {cumulated}"


class MetricsMiddleware:
    """Times every HTTP request; the route is known once the router has matched it.

    Depending on FastAPI's version, a matched route's ``path`` is the full template or the one
    below the prefix its router was included with: ``prefix`` makes both the full template."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics, prefix: str = "") -> None:
        self.app = app
        self.metrics = metrics
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            path = getattr(scope.get("route"), "path", None)
            route = self.prefix + path.removeprefix(self.prefix) if path else "other"
            elapsed = time.perf_counter() - started
            self.metrics.observe(route, scope["method"], status, elapsed)


def exposition(gauges: Iterable[Gauge], http: HttpMetrics) -> str:
    """The whole text: each gauge family with one HELP and TYPE, then the HTTP histogram."""
    families: dict[str, tuple[str, list[str]]] = {}
    for name, help_text, labels, value in gauges:
        _, samples = families.setdefault(name, (help_text, []))
        samples.append(f"{name}{_labels(labels)} {_number(value)}")
    lines: list[str] = []
    for name, (help_text, samples) in families.items():
        lines.append(f"# HELP {name} {_escape_help(help_text)}")
        lines.append(f"# TYPE {name} gauge")
        lines.extend(samples)
    lines.extend(http.lines())
    return "\n".join(lines) + "\n"


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    pairs = ",".join(f'{key}="{_escape_label(value)}"' for key, value in labels.items())
    return "{" + pairs + "}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))
