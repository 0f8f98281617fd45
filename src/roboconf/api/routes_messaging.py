"""The DM's side of ``messaging.type = http``: remote agents use the DM's transport through a
WebSocket at ``/api/v1/messaging``.

Each frame is executed on the transport the DM itself uses (its embedded router), so an agent
over HTTP and an agent in the DM's process see the same exchanges, queues and bindings. The frame
protocol is documented, and its frames read and written, in :mod:`roboconf.messaging.http`.

A queue belongs to the router, not to a connection: when a socket closes, only its consumers
stop — its queues keep receiving, and what the agent missed waits there for its return. A
consumer takes a message from its queue only when its client asks for one (``next``) and
keeps it until the client acknowledges it; a message not acknowledged when the consumer stops
goes back to the head of its queue (:class:`_Relay` holds it there for the next consumer).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterable
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from starlette.datastructures import State

from roboconf.api.deps import Service
from roboconf.errors import MessagingError
from roboconf.messaging.frames import (
    MalformedFrame,
    Notice,
    Request,
    answer_frame,
    delivery_frame,
    end_frame,
    read_client_frame,
)
from roboconf.messaging.transport import Transport

log = logging.getLogger(__name__)

router = APIRouter(prefix="/messaging", tags=["messaging"])

#: an application's relay, created with its first messaging connection
_RELAY_ATTRIBUTE = "messaging_relay"
#: what a send to a client that went away raises (Starlette, uvicorn)
_GONE = (WebSocketDisconnect, RuntimeError, OSError)
_anonymous = itertools.count(1)


@router.websocket("")
async def messaging(
    socket: WebSocket,
    service: Service,
    client: Annotated[
        str | None, Query(description="Who connects, stable over reconnections.")
    ] = None,
) -> None:
    """The DM's transport for one remote client (an agent with ``messaging.type = http``)."""
    relay = _relay(socket.app.state, service.transport)
    await socket.accept()
    session = _Session(socket, relay, client or f"anonymous-{next(_anonymous)}")
    await relay.admit(session)
    log.info("messaging client %s connected", session.client)
    try:
        async with asyncio.TaskGroup() as group:
            await session.serve(group)
            await session.stop()
    finally:
        relay.leave(session)
        log.info("messaging client %s disconnected", session.client)


class _Relay:
    """What outlives a connection: messages given back to their queues, and which connection
    each client uses now."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._given_back: dict[str, deque[bytes]] = {}
        self._sessions: dict[str, _Session] = {}

    async def admit(self, session: _Session) -> None:
        """A client reconnects only after losing its connection, but the DM may not know yet
        (a cable cut is seen at the next ping): stop the old connection's consumers first, so
        that the messages they hold are back in their queues before the new ones start."""
        previous = self._sessions.get(session.client)
        self._sessions[session.client] = session
        if previous is not None:
            await previous.replaced()

    def leave(self, session: _Session) -> None:
        if self._sessions.get(session.client) is session:
            del self._sessions[session.client]

    def give_back(self, queue: str, bodies: Iterable[bytes]) -> None:
        """Put unacknowledged messages back at the head of ``queue``, in their order."""
        held = self._given_back.setdefault(queue, deque())
        held.extendleft(reversed(list(bodies)))
        if not held:
            del self._given_back[queue]

    def take_back(self, queue: str) -> bytes | None:
        held = self._given_back.get(queue)
        if not held:
            return None
        body = held.popleft()
        if not held:
            del self._given_back[queue]
        return body

    def forget(self, queue: str) -> None:
        """The queue is gone: so are the messages given back to it."""
        self._given_back.pop(queue, None)


class _Consumer:
    __slots__ = ("credit", "queue", "tag", "task", "unacked")

    def __init__(self, tag: int, queue: str) -> None:
        self.tag = tag
        self.queue = queue
        #: one per ``next`` the client sent and was not answered yet
        self.credit = asyncio.Semaphore(0)
        #: sent, not yet acknowledged
        self.unacked: deque[bytes] = deque()
        self.task: asyncio.Task[None] | None = None


class _Session:
    """One client's connection: its frames, executed in arrival order, and its consumers."""

    def __init__(self, socket: WebSocket, relay: _Relay, client: str) -> None:
        self.client = client
        self._socket = socket
        self._relay = relay
        self._consumers: dict[int, _Consumer] = {}
        self._sending = asyncio.Lock()

    async def serve(self, group: asyncio.TaskGroup) -> None:
        """Execute frames until the client goes away; consumers run in ``group``."""
        while True:
            message = await self._socket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            try:
                if text is None:
                    raise MalformedFrame("frames are JSON text, not binary")
                frame = read_client_frame(text)
                if isinstance(frame, Notice):
                    await self._notice(frame)
                else:
                    await self._answer(frame, group)
            except MalformedFrame as error:
                log.warning("messaging client %s sent a bad frame: %s", self.client, error)
                await self._send(answer_frame(error.request_id, f"bad frame: {error}"))

    async def stop(self) -> None:
        """Stop every consumer (not its queue); their unacknowledged messages go back."""
        tasks = [c.task for c in self._consumers.values() if c.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def replaced(self) -> None:
        await self.stop()
        with contextlib.suppress(*_GONE):
            await self._socket.close(code=4000, reason="replaced by a newer connection")

    async def _answer(self, request: Request, group: asyncio.TaskGroup) -> None:
        try:
            started = await self._execute(request)
        except MessagingError as error:
            await self._send(answer_frame(request.id, str(error)))
            return
        except Exception:
            log.exception("messaging: %s from %s failed", request.op, self.client)
            await self._send(
                answer_frame(request.id, f"the DM failed to {request.op}: see its log")
            )
            return
        await self._send(answer_frame(request.id))
        if started is not None:  # after the answer: the client knows its consumer first
            consumer, bodies = started
            consumer.task = group.create_task(
                self._pump(consumer, bodies),
                name=f"messaging: {self.client} consumes {consumer.queue}",
            )

    async def _execute(self, request: Request) -> tuple[_Consumer, AsyncIterator[bytes]] | None:
        """Do what ``request`` asks; a consume request gives the consumer to start."""
        transport = self._relay.transport
        match request.op:
            case "declare_exchange":
                await transport.declare_exchange(request.exchange)
            case "declare_queue":
                await transport.declare_queue(request.queue)
            case "delete_queue":
                await transport.delete_queue(request.queue)
                self._relay.forget(request.queue)
            case "bind":
                await transport.bind(request.queue, request.exchange, request.routing_key)
            case "unbind":
                await transport.unbind(request.queue, request.exchange, request.routing_key)
            case "publish":
                await transport.publish(request.exchange, request.routing_key, request.body)
            case "consume":
                if request.consumer in self._consumers:
                    raise MessagingError(f"consumer {request.consumer} is already consuming")
                try:
                    bodies = transport.consume(request.queue)
                except MessagingError:
                    self._relay.forget(request.queue)
                    raise
                consumer = _Consumer(request.consumer, request.queue)
                self._consumers[consumer.tag] = consumer
                return consumer, bodies
        return None

    async def _notice(self, notice: Notice) -> None:
        consumer = self._consumers.get(notice.consumer)
        if consumer is None:
            # it ended (its queue was deleted) while the notice was on its way
            log.debug("messaging: %s from %s about no consumer", notice.kind, self.client)
            return
        if notice.kind == "next":
            consumer.credit.release()
        elif notice.kind == "ack":
            if not consumer.unacked:
                raise MalformedFrame(f"consumer {consumer.tag} has no message to acknowledge")
            consumer.unacked.popleft()
        elif consumer.task is not None:  # cancel
            consumer.task.cancel()
            await asyncio.wait([consumer.task])

    async def _pump(self, consumer: _Consumer, bodies: AsyncIterator[bytes]) -> None:
        """Send one message of the queue for each ``next``: first those given back, then the
        router's; tell the client when the queue is deleted."""
        try:
            while True:
                await consumer.credit.acquire()
                body = self._relay.take_back(consumer.queue)
                if body is None:
                    body = await anext(bodies, None)
                if body is None:
                    self._relay.forget(consumer.queue)
                    await self._send(end_frame(consumer.tag, consumer.queue))
                    return
                consumer.unacked.append(body)
                if not await self._send(delivery_frame(consumer.tag, consumer.queue, body)):
                    return
        finally:
            self._relay.give_back(consumer.queue, consumer.unacked)
            consumer.unacked.clear()
            if self._consumers.get(consumer.tag) is consumer:
                del self._consumers[consumer.tag]

    async def _send(self, text: str) -> bool:
        """Send a frame; False if the client is gone (the read loop ends then)."""
        async with self._sending:
            try:
                await self._socket.send_text(text)
            except _GONE:
                return False
        return True


def _relay(state: State, transport: Transport) -> _Relay:
    relay = getattr(state, _RELAY_ATTRIBUTE, None)
    if not isinstance(relay, _Relay):
        relay = _Relay(transport)
        setattr(state, _RELAY_ATTRIBUTE, relay)
    return relay
