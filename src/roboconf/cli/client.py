"""A typed client of the DM's REST API (``/api/v1``), for the CLI's remote commands.

It speaks HTTP only (never imports the DM): one method per endpoint, returning the API's JSON
as parsed (what ``--json`` prints). Failures are exceptions with a sentence a user can act on:

- :class:`ApiError` — the DM answered with an error (``{code, message, details}`` and the
  HTTP status); a body that is not the API's error shape becomes ``HTTP_<status>``.
- :class:`DmUnreachable` — no answer at all: nothing listens at the URL, the connection broke,
  or the DM did not answer in time. The message names the URL and says how to start a DM.

Events come from the Server-Sent Events endpoint (``/events/stream``): :func:`parse_sse` turns
lines into :class:`ServerSentEvent` values (pure, no I/O) and :meth:`DmApi.stream_events` yields
them as :class:`Event` values while the connection lasts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeAlias
from urllib.parse import quote

import httpx

from roboconf.errors import RoboconfError

#: where ``roboconf dm`` listens by default
DEFAULT_DM = "http://127.0.0.1:8181"
API_PREFIX = "/api/v1"
#: seconds for one ordinary request (connect, read, write)
REQUEST_TIMEOUT_S = 30.0

#: a JSON object as the API sends it
Json: TypeAlias = dict[str, Any]


class ApiError(RoboconfError):
    """The DM refused a request: ``status`` is the HTTP status, ``code`` the API's error code."""

    def __init__(
        self, status: int, code: str, message: str, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details: Mapping[str, Any] = details or {}


class DmUnreachable(RoboconfError):
    """No DM answered at the URL (nothing listening, connection lost, or no answer in time)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSentEvent:
    """One event of a ``text/event-stream``: its type, its last id (kept across events, as the
    SSE standard says) and its data lines joined by newlines."""

    event: str = "message"
    id: str | None = None
    data: str = ""


def parse_sse(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    """Events of a stream given line by line (without line ends); a blank line ends an event.

    Comments (``:`` lines, used as keep-alives) and unknown fields are ignored; an event without
    data is not dispatched; an unfinished last event is dropped (the connection broke)."""
    kind, last_id = "", None
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield ServerSentEvent(event=kind or "message", id=last_id, data="\n".join(data))
            kind, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            kind = value
        elif name == "id" and "\0" not in value:
            last_id = value


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """A change the DM announced (the API's event JSON, with the JSON itself in ``raw``)."""

    id: int
    at: float
    kind: str
    application: str | None = None
    path: str | None = None
    status: str | None = None
    reason: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Event:
        return cls(
            id=int(obj["id"]),
            at=float(obj["at"]),
            kind=str(obj["kind"]),
            application=obj.get("application"),
            path=obj.get("path"),
            status=obj.get("status"),
            reason=obj.get("reason"),
            details=obj.get("details") or {},
            raw=obj,
        )


class DmApi:
    """The DM's API at ``url`` (the DM's root, e.g. ``http://127.0.0.1:8181``).

    Use it as a context manager (or call :meth:`close`): it holds one connection pool."""

    def __init__(self, url: str = DEFAULT_DM, *, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(base_url=self.url + API_PREFIX, timeout=timeout_s)

    def __enter__(self) -> DmApi:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # -- service --------------------------------------------------------------------------

    def health(self) -> Json:
        return self._object("GET", "/health")

    def metrics(self) -> str:
        return self._send("GET", "/metrics").text

    def diagnose(self, application: str) -> Json:
        return self._object("GET", "/debug/diagnose", params={"application": application})

    def preferences(self) -> Json:
        return self._object("GET", "/preferences")

    def set_preference(self, key: str, value: str) -> Json:
        return self._object("PUT", f"/preferences/{_segment(key)}", body={"value": value})

    # -- templates --------------------------------------------------------------------------

    def upload_template(self, archive: bytes, filename: str = "template.zip") -> Json:
        """Upload a template zip (multipart field ``file``)."""
        files = {"file": (filename, archive, "application/zip")}
        return self._object("POST", "/templates", files=files)

    def load_template(self, path: str) -> Json:
        """Load a template from a folder or zip on the DM's own file system."""
        return self._object("POST", "/templates/load", body={"path": path})

    def list_templates(
        self, *, name: str | None = None, version: str | None = None, tag: str | None = None
    ) -> list[Json]:
        params = _present(name=name, version=version, tag=tag)
        return self._list("GET", "/templates", params=params)

    def get_template(self, name: str, version: str) -> Json:
        return self._object("GET", f"/templates/{_segment(name)}/{_segment(version)}")

    def delete_template(self, name: str, version: str) -> None:
        self._send("DELETE", f"/templates/{_segment(name)}/{_segment(version)}")

    # -- applications -----------------------------------------------------------------------

    def create_application(
        self, name: str, *, template: str, version: str, description: str = ""
    ) -> Json:
        body = {"name": name, "template": template, "version": version}
        return self._object("POST", "/applications", body={**body, "description": description})

    def list_applications(self) -> list[Json]:
        return self._list("GET", "/applications")

    def get_application(self, app: str) -> Json:
        return self._object("GET", _app(app))

    def delete_application(self, app: str) -> None:
        self._send("DELETE", _app(app))

    def shutdown_application(self, app: str) -> Json:
        return self._object("POST", f"{_app(app)}/shutdown")

    def components(self, app: str) -> list[Json]:
        return self._list("GET", f"{_app(app)}/components")

    def bindings(self, app: str) -> Json:
        """External import prefix → the applications whose exports it accepts."""
        return self._object("GET", f"{_app(app)}/bindings")

    def bind(self, app: str, prefix: str, applications: Iterable[str]) -> Json:
        """Accept the exports of ``applications`` (replacing those bound before) for ``app``'s
        external import prefix ``prefix``."""
        return self._object(
            "PUT",
            f"{_app(app)}/bindings/{_segment(prefix)}",
            body={"applications": list(applications)},
        )

    def unbind(self, app: str, prefix: str) -> None:
        self._send("DELETE", f"{_app(app)}/bindings/{_segment(prefix)}")

    # -- instances --------------------------------------------------------------------------

    def list_instances(self, app: str, *, under: str | None = None) -> list[Json]:
        """The instances, parents first (the subtree of ``under`` when given)."""
        return self._list("GET", f"{_app(app)}/instances", params=_present(under=under))

    def get_instance(self, app: str, path: str) -> Json:
        return self._object("GET", f"{_app(app)}/instance", params={"path": path})

    def add_instance(
        self,
        app: str,
        *,
        parent: str | None,
        component: str,
        name: str,
        overrides: Mapping[str, str] | None = None,
    ) -> Json:
        body = {"parent": parent, "component": component, "name": name}
        return self._object(
            "POST", f"{_app(app)}/instances", body={**body, "overrides": dict(overrides or {})}
        )

    def remove_instance(self, app: str, path: str) -> None:
        self._send("DELETE", f"{_app(app)}/instance", params={"path": path})

    def request_state(self, app: str, path: str, status: str) -> Json:
        """Ask for ``status`` (NOT_DEPLOYED, DEPLOYED_STOPPED or DEPLOYED_STARTED) at ``path``."""
        return self._object(
            "POST", f"{_app(app)}/instance/state", params={"path": path}, body={"status": status}
        )

    def deploy_and_start_all(
        self, app: str, *, under: str | None = None, component: str | None = None
    ) -> Json:
        return self._bulk(app, "deploy-and-start-all", under, component)

    def stop_all(self, app: str, *, under: str | None = None, component: str | None = None) -> Json:
        return self._bulk(app, "stop-all", under, component)

    def undeploy_all(
        self, app: str, *, under: str | None = None, component: str | None = None
    ) -> Json:
        return self._bulk(app, "undeploy-all", under, component)

    def explain(self, app: str, path: str) -> Json:
        return self._object("GET", f"{_app(app)}/explain", params={"path": path})

    def plan(self, app: str, request: Mapping[str, Any]) -> Json:
        """What a request would do (see :mod:`roboconf.cli.actions` for the bodies)."""
        return self._object("POST", f"{_app(app)}/plan", body=dict(request))

    # -- targets ----------------------------------------------------------------------------

    def create_target(self, properties: str) -> Json:
        return self._object("POST", "/targets", body={"properties": properties})

    def update_target(self, target_id: str, properties: str) -> Json:
        return self._object(
            "PUT", f"/targets/{_segment(target_id)}", body={"properties": properties}
        )

    def list_targets(self) -> list[Json]:
        return self._list("GET", "/targets")

    def get_target(self, target_id: str) -> Json:
        return self._object("GET", f"/targets/{_segment(target_id)}")

    def delete_target(self, target_id: str) -> None:
        self._send("DELETE", f"/targets/{_segment(target_id)}")

    def associations(self, app: str) -> list[Json]:
        return self._list("GET", f"{_app(app)}/targets")

    def associate(self, app: str, key: str, target_id: str) -> Json:
        """Use ``target_id`` for ``key``: an instance path, ``@Component`` or ``default``."""
        return self._object(
            "PUT", f"{_app(app)}/targets", body={"key": key, "target_id": target_id}
        )

    # -- events -----------------------------------------------------------------------------

    def events(
        self,
        *,
        application: str | None = None,
        after: int | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[Json]:
        """The event history, newest first; ``after``/``before``: only events with a greater
        or lower id (``before`` pages back: the last id of a page)."""
        params = _present(application=application, after=after, before=before)
        return self._list("GET", "/events", params={**params, "limit": limit})

    def stream_events(
        self,
        application: str | None = None,
        last_id: int | None = None,
        *,
        read_timeout_s: float | None = None,
        duration_s: float | None = None,
    ) -> Generator[Event, None, None]:
        """Events as the DM announces them, until the DM closes the stream; with ``last_id``,
        the DM first replays the events after it (``Last-Event-ID``).

        The iteration also ends, without error, after ``read_timeout_s`` without a byte or once
        ``duration_s`` have passed (checked as lines arrive: the DM sends keep-alives), so that
        a caller can look at the time, poll, and reconnect with the last id it saw."""
        headers = {"Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = str(last_id)
        timeout = httpx.Timeout(REQUEST_TIMEOUT_S, read=read_timeout_s)
        params = _present(application=application)
        lines: Iterable[str]
        try:
            with self._client.stream(
                "GET", "/events/stream", params=params, headers=headers, timeout=timeout
            ) as response:
                if response.is_error:
                    response.read()
                    raise _api_error(response)
                lines = response.iter_lines()
                if duration_s is not None:
                    lines = _until(lines, time.monotonic() + duration_s)
                for sse in parse_sse(lines):
                    event = _event(sse)
                    if event is not None:
                        yield event
        except httpx.ReadTimeout:
            return
        except httpx.TransportError as error:
            raise self._unreachable(error) from error

    # -- plumbing ---------------------------------------------------------------------------

    def _bulk(self, app: str, action: str, under: str | None, component: str | None) -> Json:
        body = {"under": under, "component": component}
        return self._object("POST", f"{_app(app)}/{action}", body=body)

    def _object(self, method: str, path: str, **request: Any) -> Json:
        response = self._send(method, path, **request)
        body = _body(response)
        if not isinstance(body, dict):
            raise _unexpected(response, "a JSON object")
        return body

    def _list(self, method: str, path: str, **request: Any) -> list[Json]:
        response = self._send(method, path, **request)
        body = _body(response)
        if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
            raise _unexpected(response, "a JSON list of objects")
        return body

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        try:
            response = self._client.request(method, path, params=params, json=body, files=files)
        except httpx.TransportError as error:
            raise self._unreachable(error) from error
        if response.is_error:
            raise _api_error(response)
        return response

    def _unreachable(self, error: httpx.TransportError) -> DmUnreachable:
        if isinstance(error, httpx.TimeoutException):
            what = f"the DM at {self.url} did not answer in time ({error.__class__.__name__})"
        else:
            what = f"no DM answers at {self.url} ({error or error.__class__.__name__})"
        return DmUnreachable(
            f"{what}: start one with `roboconf dm`, or give its URL with --dm URL "
            "(or the ROBOCONF_DM environment variable)"
        )


def _until(lines: Iterable[str], deadline: float) -> Iterator[str]:
    """``lines`` until the first one that comes at or after ``deadline`` (monotonic)."""
    for line in lines:
        if time.monotonic() >= deadline:
            return
        yield line


def _event(sse: ServerSentEvent) -> Event | None:
    """The DM's event in ``sse``; None for anything else on the stream (a keep-alive)."""
    try:
        return Event.from_json(json.loads(sse.data))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _unexpected(response: httpx.Response, expected: str) -> ApiError:
    """An answer that is not what the API promises (another service at the URL?)."""
    return ApiError(
        response.status_code,
        "UNEXPECTED_ANSWER",
        f"{response.request.method} {response.request.url} answered "
        f"{response.text.strip()[:200]!r}, not {expected}: is this a Roboconf DM?",
    )


def _api_error(response: httpx.Response) -> ApiError:
    """The API's ``{code, message, details}``, or what can be said of another body."""
    body = _body(response)
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        details = body.get("details")
        return ApiError(
            response.status_code,
            body["code"],
            str(body.get("message") or response.reason_phrase),
            details if isinstance(details, dict) else {},
        )
    text = response.text.strip()[:500] or response.reason_phrase
    return ApiError(response.status_code, f"HTTP_{response.status_code}", text)


def _app(app: str) -> str:
    return f"/applications/{_segment(app)}"


def _segment(value: str) -> str:
    """A name as one path segment (names may hold spaces, even slashes)."""
    return quote(value, safe="")


def _present(**values: Any) -> dict[str, Any]:
    """The query parameters that are given (None means absent)."""
    return {key: value for key, value in values.items() if value is not None}
