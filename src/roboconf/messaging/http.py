"""``messaging.type = http``: agents reach the DM's router over one WebSocket each.

For sites with no broker, the DM serves its own transport (the embedded router) at
``/api/v1/messaging`` (:mod:`roboconf.api.routes_messaging`), and an agent uses it through
:class:`HttpTransport`, which keeps the :class:`~roboconf.messaging.transport.Transport`
contract of the embedded router: same routing, same errors, queues that keep their messages.
Queues live in the DM, so what is sent to an agent while it is disconnected waits there.

The frame protocol is in :mod:`.frames`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from roboconf.errors import MessagingError
from roboconf.messaging.frames import (
    MAX_FRAME_BYTES,
    MalformedFrame,
    Request,
    json_object,
    read_body,
    websocket_url,
)
from roboconf.messaging.settings import MessagingSettings
from roboconf.messaging.transport import TransportStatistics

log = logging.getLogger(__name__)

#: back-off between connection attempts: doubles from the first, jittered (so that agents cut
#: off together do not come back together), up to the cap
_FIRST_DELAY_S = 0.1
_MAX_DELAY_S = 5.0
#: how long one attempt to open the WebSocket may last
_OPEN_TIMEOUT_S = 10.0
#: pings find a connection that died silently (a cable, a NAT) within about twice this
_PING_S = 10.0


class _Lost(Exception):
    """The connection dropped before the answer came: try again on the next one."""


class _Consumer:
    __slots__ = ("attached", "ended", "queue", "tag", "waiting")

    def __init__(self, queue: str, tag: int) -> None:
        self.queue = queue
        self.tag = tag
        #: the connection (its generation) the DM knows this consumer on; 0: not yet attached
        self.attached = 0
        #: the message asked for with ``next``: a body, or None when the consumer ends
        self.waiting: asyncio.Future[bytes | None] | None = None
        self.ended = False

    def end(self) -> None:
        self.ended = True
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_result(None)


class HttpTransport:
    """A :class:`~roboconf.messaging.transport.Transport` whose router is the DM's, over a
    WebSocket that comes back by itself. Create it with :func:`connect_http`.

    What it declared, bound and consumed is re-declared on every new connection (the DM may
    have restarted with an empty router) before any other request goes, then the
    :meth:`on_reconnect` callbacks run. Requests made while disconnected wait for the
    connection, up to ``request_deadline_s``; consumers wait as long as it takes.

    ``consume`` raises at once for a queue not declared through this transport: a queue it
    consumes must be one it can declare again after a reconnection.
    """

    def __init__(self, url: str, *, request_deadline_s: float) -> None:
        self._url = url
        self._where = url.partition("?")[0]
        self._request_deadline_s = request_deadline_s
        self._ws: ClientConnection | None = None
        #: counts connections: a consumer attached on an older one must attach again
        self._generation = 0
        #: set when requests may go (connected and re-declared), or for good once closed
        self._connected = asyncio.Event()
        self._closed = False
        self._main: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._tags = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        # what to declare again on a new connection (dicts: ordered sets)
        self._exchanges: dict[str, None] = {}
        self._queues: dict[str, None] = {}
        self._bindings: dict[tuple[str, str, str], None] = {}
        self._consumers: dict[int, _Consumer] = {}
        self._callbacks: list[Callable[[], Awaitable[None]]] = []
        self._reconnected = asyncio.Event()
        self._published = 0
        self._consumed = 0

    # -- the Transport interface --------------------------------------------------------------

    async def declare_exchange(self, name: str) -> None:
        await self._request("declare_exchange", exchange=name)
        self._exchanges[name] = None

    async def declare_queue(self, name: str) -> None:
        await self._request("declare_queue", queue=name)
        self._queues[name] = None

    async def delete_queue(self, name: str) -> None:
        await self._request("delete_queue", queue=name)
        self._queue_gone(name)

    async def bind(self, queue: str, exchange: str, routing_key: str) -> None:
        await self._request("bind", queue=queue, exchange=exchange, routing_key=routing_key)
        self._bindings[(queue, exchange, routing_key)] = None

    async def unbind(self, queue: str, exchange: str, routing_key: str) -> None:
        await self._request("unbind", queue=queue, exchange=exchange, routing_key=routing_key)
        self._bindings.pop((queue, exchange, routing_key), None)

    async def publish(self, exchange: str, routing_key: str, body: bytes) -> None:
        # checked here: the DM would drop the connection, and the retries would never end
        if 4 * (len(body) + 2) // 3 + len(exchange) + len(routing_key) + 100 > MAX_FRAME_BYTES:
            raise MessagingError(
                f"a message of {len(body)} bytes is too large for the DM's messaging (frames "
                f"of at most {MAX_FRAME_BYTES} bytes, the body in base64): send less at once"
            )
        await self._request("publish", exchange=exchange, routing_key=routing_key, body=body)
        self._published += 1

    def consume(self, queue: str) -> AsyncIterator[bytes]:
        self._check_open()
        if queue not in self._queues:
            raise MessagingError(
                f"there is no queue {queue!r}: declare it first, through this transport "
                "(it declares again what it declared after a reconnection)"
            )
        consumer = _Consumer(queue, next(self._tags))
        self._consumers[consumer.tag] = consumer
        return self._deliveries(consumer)

    def statistics(self) -> TransportStatistics:
        """What this client did; deliveries and drops are counted by the DM's router."""
        return TransportStatistics(
            published=self._published,
            consumed=self._consumed,
            queues=len(self._queues),
            bindings=len(self._bindings),
        )

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._callbacks.append(callback)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._connected.set()  # whoever waits for a connection wakes up and sees it closed
        if self._main is not None:
            self._main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._main
        if self._ws is not None:
            await self._ws.close()
        for consumer in self._consumers.values():
            consumer.end()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(self._closed_error())

    # -- connecting ---------------------------------------------------------------------------

    async def _start(self, deadline_s: float) -> None:
        """Connect (retrying until ``deadline_s``), then keep connected in a task of ours."""
        attempt, last = 0, "no attempt finished"
        try:
            async with asyncio.timeout(deadline_s):
                while True:
                    try:
                        ws = await self._dial()
                        break
                    except (OSError, WebSocketException) as error:
                        last = f"{type(error).__name__}: {error}"
                    await asyncio.sleep(_backoff(attempt))
                    attempt += 1
        except TimeoutError:
            raise MessagingError(
                f"cannot reach the DM's messaging at {self._where} within {deadline_s:g} s "
                f"({last}): is the DM running there, and is http.url right?"
            ) from None
        self._main = asyncio.create_task(self._run(ws), name=f"messaging: {self._where}")

    async def _dial(self) -> ClientConnection:
        # proxy=None: agents talk to their DM directly, whatever the environment says
        return await connect(
            self._url,
            open_timeout=_OPEN_TIMEOUT_S,
            ping_interval=_PING_S,
            ping_timeout=_PING_S,
            close_timeout=2.0,
            max_size=None,  # recipes travel in messages; the DM bounds what it accepts
            proxy=None,
        )

    async def _run(self, ws: ClientConnection) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._resynchronise())
            group.create_task(self._keep_connected(ws))

    async def _keep_connected(self, ws: ClientConnection) -> None:
        await self._serve(ws, restore=False)
        attempt = 0
        while True:
            log.warning("lost the connection to the DM's messaging at %s", self._where)
            while True:
                await asyncio.sleep(_backoff(attempt))
                attempt += 1
                try:
                    ws = await self._dial()
                    break
                except (OSError, WebSocketException) as error:
                    log.debug("reconnecting to %s failed: %s", self._where, error)
            log.info("connected again to the DM's messaging at %s", self._where)
            if await self._serve(ws, restore=True):
                attempt = 0  # else a DM that drops every new connection would be hammered

    async def _serve(self, ws: ClientConnection, *, restore: bool) -> bool:
        """Read ``ws`` until it drops; on a new connection, first declare everything again.
        Whether requests could use it."""
        self._ws = ws
        self._generation += 1
        async with asyncio.TaskGroup() as group:
            group.create_task(self._read(ws))
            if not restore:
                self._connected.set()
                return True
            try:
                async with asyncio.timeout(self._request_deadline_s):
                    await self._restore(ws)
            except _Lost:
                return False  # the reader ends with the connection
            except TimeoutError:
                log.warning("the DM at %s did not answer while re-declaring", self._where)
                await ws.close()
                return False
            self._connected.set()
            self._reconnected.set()
        return True

    async def _restore(self, ws: ClientConnection) -> None:
        requests = [Request(id=0, op="declare_exchange", exchange=e) for e in self._exchanges]
        requests += [Request(id=0, op="declare_queue", queue=q) for q in self._queues]
        requests += [
            Request(id=0, op="bind", queue=q, exchange=e, routing_key=k)
            for q, e, k in self._bindings
        ]
        for request in requests:
            answer = await self._call(ws, request)
            if "error" in answer:
                log.warning("re-declaring at %s: %s", self._where, answer["error"])
        for consumer in list(self._consumers.values()):
            if consumer.attached and not consumer.ended:
                consume = Request(id=0, op="consume", queue=consumer.queue, consumer=consumer.tag)
                answer = await self._call(ws, consume)
                if "error" in answer:
                    log.warning("resuming a consumer at %s: %s", self._where, answer["error"])
                    consumer.end()
                else:
                    consumer.attached = self._generation

    async def _resynchronise(self) -> None:
        """Run the reconnect callbacks apart from the connection's task, which they may need
        (a callback publishes; the connection may drop again meanwhile)."""
        while True:
            await self._reconnected.wait()
            self._reconnected.clear()
            for callback in list(self._callbacks):
                try:
                    await callback()
                except Exception:
                    log.exception("a reconnect callback of the messaging failed")

    # -- frames -------------------------------------------------------------------------------

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for text in ws:
                if isinstance(text, str):
                    self._received(text)
                else:
                    log.warning("the DM at %s sent a binary frame; ignored", self._where)
        except ConnectionClosed:
            pass
        finally:
            self._disconnected(ws)

    def _received(self, text: str) -> None:
        try:
            frame = json_object(text)
            if "id" in frame:
                self._answered(frame)
            elif "consumer" in frame:
                self._delivered(frame)
            else:
                raise MalformedFrame("neither an answer nor a delivery")
        except MalformedFrame as error:
            log.warning("the DM at %s sent a bad frame (%s): %.200s", self._where, error, text)

    def _answered(self, frame: dict[str, Any]) -> None:
        future = self._pending.pop(frame["id"], None) if type(frame["id"]) is int else None
        if future is None:
            log.warning("the DM at %s refused a frame: %s", self._where, frame.get("error"))
        elif not future.done():
            future.set_result(frame)

    def _delivered(self, frame: dict[str, Any]) -> None:
        tag = frame["consumer"]
        consumer = self._consumers.get(tag) if type(tag) is int else None
        if consumer is None:
            return  # it ended meanwhile; what it had not acknowledged went back to its queue
        if frame.get("end") is True:
            self._queue_gone(consumer.queue)
            return
        body = read_body(frame)
        if consumer.waiting is None or consumer.waiting.done():
            raise MalformedFrame(f"a message for consumer {consumer.tag}, who asked for none")
        consumer.waiting.set_result(body)

    def _disconnected(self, ws: ClientConnection) -> None:
        """Whoever waits for an answer on ``ws`` tries again on the next connection."""
        if self._ws is not ws:
            return
        if not self._closed:
            self._connected.clear()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(_Lost())
        self._pending.clear()
        for consumer in self._consumers.values():
            if consumer.waiting is not None and not consumer.waiting.done():
                consumer.waiting.set_exception(_Lost())

    def _lost(self, ws: ClientConnection) -> _Lost:
        """``ws`` failed under a sender before its reader noticed: mark it lost now, or the
        sender would find it again at once and retry without ever yielding to the reader."""
        self._disconnected(ws)
        return _Lost()

    def _queue_gone(self, name: str) -> None:
        self._queues.pop(name, None)
        for binding in [b for b in self._bindings if b[0] == name]:
            del self._bindings[binding]
        for consumer in [c for c in self._consumers.values() if c.queue == name]:
            consumer.end()

    # -- requests -----------------------------------------------------------------------------

    async def _request(self, op: str, **fields: Any) -> int:
        """Send a request until a connection answers it; the generation that answered."""
        self._check_open()
        try:
            async with asyncio.timeout(self._request_deadline_s):
                while True:
                    ws, generation = await self._connection()
                    try:
                        answer = await self._call(ws, Request(id=0, op=op, **fields))
                        break
                    except _Lost:
                        continue
        except TimeoutError:
            raise MessagingError(
                f"{op} got no answer from the DM's messaging at {self._where} within "
                f"{self._request_deadline_s:g} s: the DM is unreachable"
            ) from None
        if "error" in answer:
            raise MessagingError(str(answer["error"]))
        return generation

    async def _call(self, ws: ClientConnection, request: Request) -> dict[str, Any]:
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await ws.send(replace(request, id=request_id).frame())
            return await future
        except ConnectionClosed:
            self._pending.pop(request_id, None)  # before: nobody will read its _Lost
            raise self._lost(ws) from None
        finally:
            self._pending.pop(request_id, None)

    async def _connection(self) -> tuple[ClientConnection, int]:
        while True:
            self._check_open()
            if self._connected.is_set() and self._ws is not None:
                return self._ws, self._generation
            await self._connected.wait()

    async def _deliveries(self, consumer: _Consumer) -> AsyncIterator[bytes]:
        try:
            while (body := await self._next(consumer)) is not None:
                self._consumed += 1
                yield body
        finally:
            self._consumers.pop(consumer.tag, None)
            if consumer.attached and not consumer.ended:
                await self._notify("cancel", consumer)

    async def _next(self, consumer: _Consumer) -> bytes | None:
        """Ask the DM for one message of ``consumer``'s queue and acknowledge it; None once the
        queue is deleted or the transport closed."""
        while not consumer.ended:
            try:
                ws, generation = await self._connection()
            except MessagingError:
                return None  # closed: consumers end, as the router's do
            if consumer.attached != generation:
                consumer.attached = await self._request(
                    "consume", queue=consumer.queue, consumer=consumer.tag
                )
                continue
            consumer.waiting = asyncio.get_running_loop().create_future()
            try:
                await ws.send(json.dumps({"next": consumer.tag}))
                body = await consumer.waiting
                if body is not None:
                    await ws.send(json.dumps({"ack": consumer.tag}))
                return body
            except ConnectionClosed:
                consumer.waiting = None  # before: nobody will read its _Lost
                self._lost(ws)
                continue  # unacknowledged, the message goes back to its queue and comes again
            except _Lost:
                continue
            finally:
                consumer.waiting = None
        return None

    async def _notify(self, kind: str, consumer: _Consumer) -> None:
        """Tell the DM if connected; otherwise it forgot the consumer with the connection."""
        if self._connected.is_set() and self._ws is not None and not self._closed:
            with contextlib.suppress(ConnectionClosed):
                await self._ws.send(json.dumps({kind: consumer.tag}))

    def _check_open(self) -> None:
        if self._closed:
            raise self._closed_error()

    def _closed_error(self) -> MessagingError:
        return MessagingError(f"the messaging transport to the DM at {self._where} is closed")


async def connect_http(
    settings: MessagingSettings,
    *,
    name: str = "agent",
    deadline_s: float = 30.0,
    request_deadline_s: float = 300.0,
) -> HttpTransport:
    """A transport through the DM at ``settings.url``, connected; :class:`MessagingError` if
    it cannot be reached within ``deadline_s``. ``name`` (the agent's, say) appears in the DM's
    log; requests wait up to ``request_deadline_s`` for a lost connection to come back."""
    client = f"{name}-{uuid.uuid4().hex[:12]}"
    transport = HttpTransport(
        websocket_url(settings.url, client), request_deadline_s=request_deadline_s
    )
    await transport._start(deadline_s)
    return transport


def _backoff(attempt: int) -> float:
    delay: float = min(_MAX_DELAY_S, _FIRST_DELAY_S * 2 ** min(attempt, 16))
    return delay * random.uniform(0.5, 1.0)
