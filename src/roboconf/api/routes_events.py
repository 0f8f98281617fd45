"""Events: the history (paginated), and live as Server-Sent Events or over a WebSocket.

Both live forms send the JSON of :class:`~roboconf.api.schemas.EventOut`. A client that comes
back after a disconnection gives the last id it saw (SSE ``Last-Event-ID``, WebSocket ``after``)
and first receives what it missed, oldest first, then live events, each exactly once. A client
too slow to keep up is dropped by the service; it reconnects the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from roboconf.api.deps import Service, Settings
from roboconf.api.schemas import EventOut, errors
from roboconf.dm.service import DmService
from roboconf.dm.views import EventView

router = APIRouter(prefix="/events", tags=["events"])

#: events read per history query while catching a client up
_PAGE = 1000

Application = Annotated[str | None, Query(description="Only this application's events.")]
EventId = Annotated[int | None, Query(ge=0)]


@router.get("", responses=errors())
async def history(
    service: Service,
    application: Application = None,
    after: Annotated[int | None, Query(ge=0, description="Only events with a greater id.")] = None,
    before: Annotated[int | None, Query(ge=0, description="Only events with a lower id.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[EventOut]:
    """Past events, newest first; page back with ``before`` (the last id of a page)."""
    views = await service.history(application=application, after=after, before=before, limit=limit)
    return [EventOut.model_validate(v) for v in views]


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-Sent Events: `id`, `event` (the kind), `data` (event JSON)",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **errors(),
    },
)
async def stream(
    service: Service,
    settings: Settings,
    application: Application = None,
    last_event_id: Annotated[int | None, Header(ge=0)] = None,
) -> StreamingResponse:
    """Live events; with ``Last-Event-ID``, those missed since that one come first."""
    queue = service.subscribe(application)
    feed = _feed(service, queue, application, last_event_id, settings.heartbeat_s)
    return StreamingResponse(
        (_sse(event) async for event in feed),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        background=BackgroundTask(service.unsubscribe, queue),
    )


@router.websocket("")
async def websocket(
    socket: WebSocket,
    service: Service,
    application: Application = None,
    after: EventId = None,
) -> None:
    """Live events as JSON text messages; with ``after``, those missed since that id first."""
    await socket.accept()
    queue = service.subscribe(application)
    try:
        async with asyncio.TaskGroup() as group:
            tasks = {
                group.create_task(_send(socket, _feed(service, queue, application, after, None))),
                group.create_task(_until_closed(socket)),
            }
            _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
    finally:
        service.unsubscribe(queue)


async def _feed(
    service: DmService,
    queue: asyncio.Queue[EventView | None],
    application: str | None,
    last_id: int | None,
    heartbeat_s: float | None,
) -> AsyncIterator[EventView | None]:
    """The missed events, then live ones with a greater id; ``None`` every ``heartbeat_s`` of
    silence. Ends when the service drops the subscriber (it fell too far behind)."""
    if last_id is not None:
        for missed in await _missed(service, application, last_id):
            yield missed
            last_id = missed.id
    while True:
        try:
            async with asyncio.timeout(heartbeat_s):
                event = await queue.get()
        except TimeoutError:
            yield None
            continue
        if event is None:
            return
        if last_id is None or event.id > last_id:
            last_id = event.id
            yield event


async def _missed(service: DmService, application: str | None, after: int) -> list[EventView]:
    """Every event after ``after``, oldest first (the history answers newest first)."""
    pages: list[list[EventView]] = []
    before: int | None = None
    while True:
        page = await service.history(
            application=application, after=after, before=before, limit=_PAGE
        )
        pages.append(page)
        if len(page) < _PAGE:
            break
        before = page[-1].id
    return [event for page in reversed(pages) for event in reversed(page)]


def _json(event: EventView) -> str:
    return EventOut.model_validate(event).model_dump_json()


def _sse(event: EventView | None) -> str:
    if event is None:
        return ": heartbeat\n\n"
    return f"id: {event.id}\nevent: {event.kind}\ndata: {_json(event)}\n\n"


async def _send(socket: WebSocket, feed: AsyncIterator[EventView | None]) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        async for event in feed:
            if event is not None:
                await socket.send_text(_json(event))
        # dropped for being too slow: 1013 "try again later" tells the client to reconnect
        await socket.close(code=1013, reason="too far behind; reconnect with ?after=<last id>")


async def _until_closed(socket: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it goes away."""
    while (await socket.receive())["type"] != "websocket.disconnect":
        pass
