"""The frames of ``messaging.type = http`` (:mod:`.http` on the agent's side,
:mod:`roboconf.api.routes_messaging` on the DM's): reading and writing them, nothing else.

The frame protocol: every frame is one JSON object in a text frame.

Requests, client → DM, each answered once, in order, by ``{"id": 7, "ok": true}`` or
``{"id": 7, "error": "there is no queue 'q': declare it first"}`` (``"id": null`` answers a frame
too malformed to have an id)::

    {"id": 1, "op": "declare_exchange", "exchange": "x"}
    {"id": 2, "op": "declare_queue", "queue": "q"}
    {"id": 3, "op": "delete_queue", "queue": "q"}
    {"id": 4, "op": "bind", "queue": "q", "exchange": "x", "routing_key": "a.*"}
    {"id": 5, "op": "unbind", "queue": "q", "exchange": "x", "routing_key": "a.*"}
    {"id": 6, "op": "publish", "exchange": "x", "routing_key": "a.b", "body": "<base64>"}
    {"id": 7, "op": "consume", "queue": "q", "consumer": 3}

Notices, client → DM, never answered, about consumer 3 (a number the client chose)::

    {"next": 3}    it wants one message: a credit. The DM sends nothing it was not asked for, so
                   consumers of one queue share its messages as the router's do, and a message
                   leaves the queue only when a consumer takes it.
    {"ack": 3}     it received its message. Until then the DM keeps the message and, if the
                   connection drops, puts it back at the head of its queue.
    {"cancel": 3}  it is gone; its unacknowledged message goes back to its queue.

Pushed, DM → client::

    {"consumer": 3, "queue": "q", "body": "<base64>"}   a message, for one ``next``
    {"consumer": 3, "queue": "q", "end": true}          the queue was deleted: consumption ends

Bodies are base64 (the transport carries bytes, whatever they hold). Delivery is at least once:
a publish whose answer is lost with the connection is sent again after reconnecting, and a
message whose ``ack`` is lost comes again; otherwise nothing is lost and order is kept.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

#: where the DM serves the messaging, under its base URL
PATH = "/api/v1/messaging"
#: the fields each request carries besides ``id`` and ``op``
OPERATIONS: dict[str, tuple[str, ...]] = {
    "declare_exchange": ("exchange",),
    "declare_queue": ("queue",),
    "delete_queue": ("queue",),
    "bind": ("queue", "exchange", "routing_key"),
    "unbind": ("queue", "exchange", "routing_key"),
    "publish": ("exchange", "routing_key", "body"),
    "consume": ("queue", "consumer"),
}
NOTICES = ("next", "ack", "cancel")
#: the largest frame the DM reads: uvicorn's default ``ws_max_size``, which ``roboconf dm`` keeps
MAX_FRAME_BYTES = 16 * 1024 * 1024


class MalformedFrame(ValueError):
    """A frame that breaks the protocol; ``request_id`` is its id when it has a usable one."""

    def __init__(self, message: str, request_id: int | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """A request frame; only the fields of its ``op`` (:data:`OPERATIONS`) are meaningful."""

    id: int
    op: str
    exchange: str = ""
    queue: str = ""
    routing_key: str = ""
    body: bytes = b""
    consumer: int = 0

    def frame(self) -> str:
        fields: dict[str, object] = {"id": self.id, "op": self.op}
        for name in OPERATIONS[self.op]:
            value = getattr(self, name)
            fields[name] = base64.b64encode(value).decode("ascii") if name == "body" else value
        return json.dumps(fields)


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """A notice frame: ``kind`` is one of :data:`NOTICES`."""

    kind: str
    consumer: int


def read_client_frame(text: str) -> Request | Notice:
    """What a client sent, checked; :class:`MalformedFrame` says what is wrong."""
    frame = json_object(text)
    for kind in NOTICES:
        if kind in frame:
            return Notice(kind=kind, consumer=_number(frame, kind, None))
    request_id = frame.get("id")
    if type(request_id) is not int:
        raise MalformedFrame(f"a request needs a number 'id', got {request_id!r}")
    op = frame.get("op")
    if not isinstance(op, str) or op not in OPERATIONS:
        known = ", ".join(OPERATIONS)
        raise MalformedFrame(f"unknown op {op!r} (known: {known})", request_id)
    fields: dict[str, Any] = {}
    for name in OPERATIONS[op]:
        if name == "consumer":
            fields[name] = _number(frame, name, request_id)
        elif name == "body":
            fields[name] = read_body(frame, request_id)
        elif isinstance(frame.get(name), str):
            fields[name] = frame[name]
        else:
            raise MalformedFrame(f"{op} needs a string {name!r}", request_id)
    return Request(id=request_id, op=op, **fields)


def read_body(frame: dict[str, Any], request_id: int | None = None) -> bytes:
    """The base64 ``body`` of a frame."""
    body = frame.get("body")
    if isinstance(body, str):
        with contextlib.suppress(binascii.Error, ValueError):
            return base64.b64decode(body, validate=True)
    raise MalformedFrame("'body' must be a base64 string", request_id)


def answer_frame(request_id: int | None, error: str | None = None) -> str:
    if error is None:
        return json.dumps({"id": request_id, "ok": True})
    return json.dumps({"id": request_id, "error": error})


def delivery_frame(consumer: int, queue: str, body: bytes) -> str:
    encoded = base64.b64encode(body).decode("ascii")
    return json.dumps({"consumer": consumer, "queue": queue, "body": encoded})


def end_frame(consumer: int, queue: str) -> str:
    return json.dumps({"consumer": consumer, "queue": queue, "end": True})


def websocket_url(base_url: str, client: str) -> str:
    """The messaging endpoint of the DM at ``base_url`` (``http``→``ws``, ``https``→``wss``)."""
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    root = parts._replace(scheme=scheme, query="", fragment="").geturl().rstrip("/")
    return f"{root}{PATH}?client={quote(client, safe='')}"


def json_object(text: str) -> dict[str, Any]:
    """A frame's JSON object; :class:`MalformedFrame` when it is none."""
    try:
        frame = json.loads(text)
    except ValueError as error:
        raise MalformedFrame(f"not JSON: {error}") from None
    if not isinstance(frame, dict):
        raise MalformedFrame("a frame must be a JSON object")
    return frame


def _number(frame: dict[str, Any], key: str, request_id: int | None) -> int:
    value = frame.get(key)
    if type(value) is not int:
        raise MalformedFrame(f"{key!r} must be a number, got {value!r}", request_id)
    return value
