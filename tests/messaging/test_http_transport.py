"""``messaging.type = http``: a real DM served by uvicorn, clients over real WebSockets.

The routing cases are the embedded router's (the HTTP transport must behave the same); the
fault cases cut the connection with a TCP relay of this module (:class:`Relay`) between the
client and the DM, or point that relay at a fresh DM, as if the DM had restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from roboconf.errors import MessagingError
from roboconf.messaging.clients import AgentClient, DmClient
from roboconf.messaging.frames import MAX_FRAME_BYTES, websocket_url
from roboconf.messaging.http import HttpTransport, connect_http
from roboconf.messaging.messages import ChangeInstanceState, Heartbeat
from roboconf.messaging.settings import MessagingSettings, MessagingType
from roboconf.model.types import InstanceStatus
from tests.api.conftest import LiveServer, live_server
from tests.helpers import bounded_by
from tests.messaging.helpers import rest, take

#: the longest any test may last (a guard, not a timing check)
BOUND_S = 60.0
#: what every queue of a test is bound to, published last: what a queue got before it is all
#: it got
SENTINEL = "sentinel.end"


#: runs an ``async def`` test in a fresh event loop, for at most :data:`BOUND_S`
bounded = bounded_by(BOUND_S)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("dm")) as running:
        yield running


def unique(prefix: str) -> str:
    """Names of their own for each test: they share one DM."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@contextlib.asynccontextmanager
async def transport_to(url: str, **options: Any) -> AsyncIterator[HttpTransport]:
    settings = MessagingSettings(type=MessagingType.HTTP, url=url)
    transport = await connect_http(settings, name="test", **options)
    try:
        yield transport
    finally:
        await transport.close()


async def with_queues(transport: HttpTransport, *queues: str) -> str:
    """A new exchange and the queues, each bound to :data:`SENTINEL`; the exchange."""
    exchange = unique("x")
    await transport.declare_exchange(exchange)
    for queue in queues:
        await transport.declare_queue(queue)
        await transport.bind(queue, exchange, SENTINEL)
    return exchange


async def received(transport: HttpTransport, exchange: str, *queues: str) -> list[list[bytes]]:
    """What each queue holds, up to the sentinel published now."""
    await transport.publish(exchange, SENTINEL, b"<end>")
    found = []
    for queue in queues:
        bodies = []
        async for body in transport.consume(queue):
            if body == b"<end>":
                break
            bodies.append(body)
        found.append(bodies)
    return found


# -- routing, as the embedded router does it --------------------------------------------------

ROUTING = [
    ("a.*", [b"a.b"]),
    ("a.#", [b"a", b"a.b", b"a.b.c"]),
    ("#", [b"a", b"a.b", b"a.b.c", b"x.b"]),
    ("*.b", [b"a.b", b"x.b"]),
    ("a.b", [b"a.b"]),
]


@pytest.mark.parametrize(
    "binding, expected", ROUTING, ids=[f"{b!r} takes {len(e)}" for b, e in ROUTING]
)
@bounded
async def test_wildcards_match_as_rabbitmq_does(
    server: LiveServer, binding: str, expected: list[bytes]
) -> None:
    async with transport_to(server.url) as transport:
        queue = unique("q")
        exchange = await with_queues(transport, queue)
        await transport.bind(queue, exchange, binding)
        for key in ("a", "a.b", "a.b.c", "x.b"):
            await transport.publish(exchange, key, key.encode())
        assert await received(transport, exchange, queue) == [expected]


@bounded
async def test_a_message_reaches_every_bound_queue_once(server: LiveServer) -> None:
    async with transport_to(server.url) as transport:
        q1, q2, q3 = unique("q1"), unique("q2"), unique("q3")
        exchange = await with_queues(transport, q1, q2, q3)
        for queue, key in [(q1, "a.b"), (q1, "a.*"), (q1, "#"), (q2, "a.b"), (q3, "c")]:
            await transport.bind(queue, exchange, key)
        await transport.publish(exchange, "a.b", b"m")
        assert await received(transport, exchange, q1, q2, q3) == [[b"m"], [b"m"], []]


@bounded
async def test_unbinding_stops_delivery(server: LiveServer) -> None:
    async with transport_to(server.url) as transport:
        queue = unique("q")
        exchange = await with_queues(transport, queue)
        await transport.bind(queue, exchange, "a.#")
        await transport.unbind(queue, exchange, "a.#")
        await transport.unbind(queue, exchange, "never.bound")
        await transport.publish(exchange, "a.b", b"m")
        assert await received(transport, exchange, queue) == [[]]
        assert transport.statistics().bindings == 1  # the sentinel's


@bounded
async def test_messages_keep_their_order(server: LiveServer) -> None:
    async with transport_to(server.url) as transport:
        queue = unique("q")
        exchange = await with_queues(transport, queue)
        await transport.bind(queue, exchange, "k")
        bodies = [str(i).encode() for i in range(200)]
        for body in bodies:
            await transport.publish(exchange, "k", body)
        assert await take(transport.consume(queue), 200) == bodies


@bounded
async def test_deleting_a_queue_drops_its_messages_and_ends_its_consumers(
    server: LiveServer,
) -> None:
    async with transport_to(server.url) as transport:
        queue = unique("q")
        exchange = await with_queues(transport, queue)
        await transport.bind(queue, exchange, "k")
        consumer = transport.consume(queue)
        await transport.publish(exchange, "k", b"first")
        assert await take(consumer) == [b"first"]
        await transport.publish(exchange, "k", b"pending")
        await transport.delete_queue(queue)
        await transport.delete_queue(queue)  # twice: no-op
        assert await rest(consumer) == []
        with pytest.raises(MessagingError, match="no queue"):
            transport.consume(queue)
        await transport.declare_queue(queue)
        await transport.bind(queue, exchange, SENTINEL)
        await transport.publish(exchange, "k", b"after")  # its binding went with it
        assert await received(transport, exchange, queue) == [[]]


@bounded
async def test_a_queue_deleted_by_another_client_ends_the_consumers_of_this_one(
    server: LiveServer,
) -> None:
    async with transport_to(server.url) as agent, transport_to(server.url) as dm:
        queue = unique("q")
        await agent.declare_queue(queue)
        consumer = agent.consume(queue)
        waiting = asyncio.create_task(rest(consumer))
        await asyncio.sleep(0.1)  # it asked for a message
        await dm.delete_queue(queue)
        assert await waiting == []
        assert agent.statistics().queues == 0


@bounded
async def test_consumers_of_one_queue_share_its_messages(server: LiveServer) -> None:
    async with transport_to(server.url) as transport:
        queue = unique("q")
        exchange = await with_queues(transport, queue)
        await transport.bind(queue, exchange, "k")
        for body in (b"1", b"2", b"3", b"4"):
            await transport.publish(exchange, "k", body)
        first, second = transport.consume(queue), transport.consume(queue)
        got = await take(first, 2) + await take(second, 2)
        assert sorted(got) == [b"1", b"2", b"3", b"4"]
        await transport.delete_queue(queue)
        assert await rest(first) == await rest(second) == []


MISUSES = [
    ("publishing to an undeclared exchange", lambda t: t.publish("nope", "k", b"m"), "exchange"),
    ("binding to an undeclared exchange", lambda t: t.bind("q", "nope", "k"), "exchange"),
    ("binding an unknown queue", lambda t: t.bind("nope", "x", "k"), "queue"),
    ("consuming an unknown queue", lambda t: _now(t.consume, "nope"), "queue"),
]


async def _now(function: Callable[..., object], *args: object) -> object:
    return function(*args)


@pytest.mark.parametrize(
    "action, what", [m[1:] for m in MISUSES], ids=[f"{m[0]} raises" for m in MISUSES]
)
@bounded
async def test_misuse_raises_a_messaging_error(
    server: LiveServer, action: Callable[[HttpTransport], Any], what: str
) -> None:
    async with transport_to(server.url) as transport:
        await transport.declare_exchange("x")
        await transport.declare_queue("q")
        with pytest.raises(MessagingError, match=f"no {what} 'nope'"):
            await action(transport)
        await transport.publish("x", "k", b"still usable")


@bounded
async def test_a_message_too_large_for_the_dm_raises_before_it_is_sent(
    server: LiveServer,
) -> None:
    async with transport_to(server.url) as transport:
        queue = unique("q")
        exchange = await with_queues(transport, queue)
        await transport.bind(queue, exchange, "k")
        large = b"x" * (MAX_FRAME_BYTES * 3 // 4 - 1000)
        await transport.publish(exchange, "k", large)
        with pytest.raises(MessagingError, match="too large"):
            await transport.publish(exchange, "k", large + b"x" * 1000)
        assert await received(transport, exchange, queue) == [[large]]


@bounded
async def test_consuming_a_queue_that_another_client_deleted_raises(server: LiveServer) -> None:
    async with transport_to(server.url) as agent, transport_to(server.url) as other:
        queue = unique("q")
        await agent.declare_queue(queue)
        await other.delete_queue(queue)
        with pytest.raises(MessagingError, match="no queue"):
            await anext(agent.consume(queue))


@bounded
async def test_closing_ends_consumers_and_refuses_later_calls(server: LiveServer) -> None:
    async with transport_to(server.url) as transport:
        queue = unique("q")
        await transport.declare_queue(queue)
        consumer = transport.consume(queue)
        waiting = asyncio.create_task(rest(consumer))
        await asyncio.sleep(0.1)
        await transport.close()
        await transport.close()
        assert await waiting == []
        with pytest.raises(MessagingError, match="closed"):
            await transport.publish("x", "k", b"m")
        with pytest.raises(MessagingError, match="closed"):
            await transport.declare_queue("q2")
        with pytest.raises(MessagingError, match="closed"):
            transport.consume(queue)


# -- the clients, through the DM ------------------------------------------------------------


@bounded
async def test_an_agent_and_a_dm_talk_through_the_dm_s_router(server: LiveServer) -> None:
    domain, app = unique("domain"), unique("app")
    async with transport_to(server.url) as dm_side, transport_to(server.url) as agent_side:
        dm = DmClient(dm_side, domain=domain)
        await dm.start()
        await dm.manage(app)
        agent = AgentClient(agent_side, application=app, scoped_path="/vm 1", domain=domain)
        await agent.start()
        beat = Heartbeat(application=app, scoped_path="/vm 1", ip="10.0.0.3", model_required=True)
        await agent.send_to_dm(beat)
        assert await take(dm.messages()) == [beat]
        command = ChangeInstanceState(path="/vm 1/db", requested=InstanceStatus.DEPLOYED_STARTED)
        await dm.send_to_agent(app, "/vm 1", command)
        assert await take(agent.messages()) == [command]
        await agent.stop()
        await dm.send_to_agent(app, "/vm 1", command)  # dropped: the agent's queue is gone
        await dm.echo("are you there?")
        assert len(await take(dm.messages())) == 1
        assert agent_side.statistics().queues == 0


# -- faults ------------------------------------------------------------------------------------


class Relay:
    """A TCP relay to a DM: :meth:`cut` drops every connection and refuses new ones until
    :meth:`resume`, which may point it at another DM."""

    def __init__(self, target: LiveServer) -> None:
        self.target_port = _port(target)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Relay:
        await self.resume()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.cut()

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def resume(self, target: LiveServer | None = None) -> None:
        if target is not None:
            self.target_port = _port(target)
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        await asyncio.gather(
            _pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True
        )


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.transport.abort()


def _port(server: LiveServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


async def eventually(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.02)


@bounded
async def test_a_cut_connection_comes_back_and_nothing_is_lost(server: LiveServer) -> None:
    async with (
        Relay(server) as relay,
        transport_to(server.url) as direct,
        transport_to(relay.url) as agent,
    ):
        reconnections: list[float] = []

        async def reconnected() -> None:
            reconnections.append(time.monotonic())

        agent.on_reconnect(reconnected)
        queue = unique("q")
        exchange = unique("x")
        await agent.declare_exchange(exchange)
        await agent.declare_queue(queue)
        await agent.bind(queue, exchange, "machine.#")
        waiting = asyncio.create_task(take(agent.consume(queue), 3))
        await asyncio.sleep(0.1)  # the consumer asked for its next message

        await relay.cut()
        await direct.publish(exchange, "machine.vm1", b"while away")  # waits in the DM
        during = asyncio.create_task(agent.publish(exchange, "machine.vm1", b"sent during"))
        await asyncio.sleep(0.5)
        assert not during.done()
        await relay.resume()

        await during
        await eventually(lambda: bool(reconnections))
        await direct.publish(exchange, "machine.vm2", b"after")
        assert await waiting == [b"while away", b"sent during", b"after"]
        assert len(reconnections) == 1


@bounded
async def test_a_restarted_dm_gets_every_declaration_again(
    server: LiveServer, tmp_path: Path
) -> None:
    async with Relay(server) as relay, transport_to(relay.url) as agent:
        reconnected = asyncio.Event()

        async def on_reconnect() -> None:
            reconnected.set()

        agent.on_reconnect(on_reconnect)
        queue, exchange = unique("q"), unique("x")
        await agent.declare_exchange(exchange)
        await agent.declare_queue(queue)
        await agent.bind(queue, exchange, "those.that.import.*")
        waiting = asyncio.create_task(take(agent.consume(queue)))
        await asyncio.sleep(0.1)
        with live_server(tmp_path) as fresh:
            await relay.cut()
            await relay.resume(fresh)  # the same address, an empty router behind it
            await reconnected.wait()
            async with transport_to(fresh.url) as direct:
                await direct.publish(exchange, "those.that.import.Tomcat", b"exports")
                assert await waiting == [b"exports"]
            await relay.cut()


@bounded
async def test_a_request_waits_for_the_connection_up_to_its_deadline(server: LiveServer) -> None:
    async with Relay(server) as relay, transport_to(relay.url, request_deadline_s=0.5) as agent:
        await agent.declare_exchange("x")
        await relay.cut()
        started = time.monotonic()
        with pytest.raises(MessagingError, match=r"no answer .* within 0\.5 s"):
            await agent.publish("x", "k", b"m")
        assert time.monotonic() - started < 5


@bounded
async def test_connecting_gives_up_at_its_deadline() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    settings = MessagingSettings(type=MessagingType.HTTP, url=f"http://127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(
        MessagingError, match=rf"cannot reach .*127\.0\.0\.1:{port}.* within 0\.5 s"
    ):
        await connect_http(settings, deadline_s=0.5)
    assert time.monotonic() - started < 5


# -- the DM's side, frame by frame ----------------------------------------------------------


async def raw(server: LiveServer, client: str = "raw") -> ClientConnection:
    return await connect(websocket_url(server.url, client), proxy=None)


async def answer(ws: ClientConnection, frame: object) -> dict[str, Any]:
    await ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))
    reply: dict[str, Any] = json.loads(await ws.recv())
    return reply


BAD_FRAMES = [
    ("not JSON", "{nope", None),
    ("not an object", "[1, 2]", None),
    ("no id", {"op": "declare_queue", "queue": "q"}, None),
    ("an unknown op", {"id": 1, "op": "explode"}, 1),
    ("a missing field", {"id": 2, "op": "bind", "queue": "q"}, 2),
    ("a body that is no base64", {"id": 3, "op": "publish", "exchange": "x",
                                  "routing_key": "k", "body": "!!"}, 3),
    ("a binary frame", b"\x00\x01", None),
    ("an ack of nothing", None, None),
]  # fmt: skip


@bounded
async def test_bad_frames_are_answered_with_an_error_and_the_dm_goes_on(
    server: LiveServer,
) -> None:
    queue = unique("q")
    async with await raw(server) as ws:
        assert await answer(ws, {"id": 10, "op": "declare_queue", "queue": queue}) == {
            "id": 10,
            "ok": True,
        }
        assert (await answer(ws, {"id": 11, "op": "consume", "queue": queue, "consumer": 1}))["ok"]
        for what, frame, request_id in BAD_FRAMES:
            reply = await answer(ws, frame if frame is not None else {"ack": 1})
            assert reply["id"] == request_id, what
            assert reply["error"].startswith("bad frame: "), what
        assert await answer(ws, {"id": 12, "op": "declare_exchange", "exchange": "x"}) == {
            "id": 12,
            "ok": True,
        }


@bounded
async def test_a_message_not_acknowledged_goes_back_to_its_queue(server: LiveServer) -> None:
    queue, exchange = unique("q"), unique("x")
    async with transport_to(server.url) as publisher:
        await publisher.declare_exchange(exchange)
        await publisher.declare_queue(queue)
        await publisher.bind(queue, exchange, "k")
        for body in (b"1", b"2"):
            await publisher.publish(exchange, "k", body)
        async with await raw(server, "forgetful") as first:
            await answer(first, {"id": 1, "op": "consume", "queue": queue, "consumer": 7})
            await first.send(json.dumps({"next": 7}))
            delivery = json.loads(await first.recv())
            assert delivery == {"consumer": 7, "queue": queue, "body": "MQ=="}
            # the same client connects again before the DM saw the first connection go
            async with await raw(server, "forgetful") as second:
                with pytest.raises(ConnectionClosed) as closed:
                    await first.recv()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
                await answer(second, {"id": 1, "op": "consume", "queue": queue, "consumer": 7})
                await second.send(json.dumps({"next": 7}))
                assert json.loads(await second.recv())["body"] == "MQ=="  # b"1" again
                await second.send(json.dumps({"ack": 7}))
        assert await take(publisher.consume(queue)) == [b"2"]
