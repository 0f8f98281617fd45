"""The RabbitMQ transport: the embedded router's contract on a real broker, the clients over it,
and what happens when the broker goes away (on a private node that the tests stop and kill).

Contract tests run the same table against :class:`EmbeddedRouter` and :class:`RabbitTransport`
(the shared broker on 127.0.0.1:5672): every name holds a random prefix, and what a test
declares on the broker is deleted afterwards. Instead of the router's ``depth``, a test reads a
queue up to a marker published after the messages (a queue keeps its order).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from roboconf.errors import MessagingError
from roboconf.messaging import topology
from roboconf.messaging.clients import AgentClient, DmClient
from roboconf.messaging.embedded import EmbeddedRouter
from roboconf.messaging.messages import (
    AddImport,
    ChangeInstanceState,
    Heartbeat,
    RequestImport,
)
from roboconf.messaging.rabbitmq import backoff_delay, connect_rabbitmq
from roboconf.messaging.settings import MessagingSettings, messaging_settings
from roboconf.messaging.transport import Transport
from roboconf.model.types import InstanceStatus
from tests.brokers import PrivateRabbit, delete_on_broker, private_rabbit, require_shared_broker
from tests.messaging.helpers import rest, synchronously, take

#: a bound on waiting for a reconnection after the node is back (not a timing check)
RECONNECTION = 30.0
_markers = itertools.count()


def rabbit_settings(url: str, domain: str = "default") -> MessagingSettings:
    return messaging_settings(
        {"messaging.type": "rabbitmq", "rabbitmq.url": url, "messaging.domain": domain}
    )


class Backend:
    """Transports of one kind for one test, with names that no other test run uses."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.prefix = f"rc-test-{uuid.uuid4().hex[:10]}"
        self.url = require_shared_broker() if kind == "rabbitmq" else ""
        self.queues: list[str] = []
        self.exchanges: list[str] = []

    def queue(self, name: str) -> str:
        self.queues.append(f"{self.prefix}.{name}")
        return self.queues[-1]

    def exchange(self, name: str) -> str:
        self.exchanges.append(f"{self.prefix}.{name}")
        return self.exchanges[-1]

    @contextlib.asynccontextmanager
    async def transport(self) -> AsyncIterator[Transport]:
        if self.kind == "embedded":
            yield EmbeddedRouter()
            return
        transport = await connect_rabbitmq(rabbit_settings(self.url), name=self.prefix)
        try:
            yield transport
        finally:
            await transport.close()
            await delete_on_broker(self.url, queues=self.queues, exchanges=self.exchanges)


@pytest.fixture(params=["embedded", pytest.param("rabbitmq", marks=pytest.mark.integration)])
def backend(request: pytest.FixtureRequest) -> Backend:
    return Backend(request.param)


async def read_all(transport: Transport, queue: str, marker_exchange: str) -> list[bytes]:
    """What waits in ``queue``, in order: read up to a marker published after it (the markers
    of earlier reads, given back to the queue by a consumer that stopped, are skipped)."""
    marker = f"<marker {next(_markers)}>".encode()
    await transport.declare_exchange(marker_exchange)
    await transport.bind(queue, marker_exchange, "marker")
    await transport.publish(marker_exchange, "marker", marker)
    bodies = transport.consume(queue)
    found: list[bytes] = []
    try:
        while (body := (await take(bodies))[0]) != marker:
            if not body.startswith(b"<marker "):
                found.append(body)
    finally:
        await bodies.aclose()  # type: ignore[attr-defined]
    return found


# -- the contract: the same table on both transports ------------------------------------------

#: (binding key, routing key, matches)
PATTERNS = [
    ("a.b", "a.b", True),
    ("a.b", "a.c", False),
    ("a.*", "a.b", True),
    ("a.*", "a", False),
    ("a.*", "a.b.c", False),
    ("*.b", "a.b", True),
    ("a.#", "a", True),
    ("a.#", "a.b.c", True),
    ("a.#", "b.a", False),
    ("#", "anything.at.all", True),
    ("#.c", "a.b.c", True),
    ("a.*.c", "a.b.c", True),
    ("a.*.c", "a.c", False),
]


@pytest.mark.parametrize(
    "binding, key, matches",
    PATTERNS,
    ids=[f"{b!r} {'matches' if m else 'does not match'} {k!r}" for b, k, m in PATTERNS],
)
@synchronously
async def test_wildcards_match_as_in_rabbitmq(
    backend: Backend, binding: str, key: str, matches: bool
) -> None:
    x, q, marks = backend.exchange("x"), backend.queue("q"), backend.exchange("marks")
    async with backend.transport() as t:
        await t.declare_exchange(x)
        await t.declare_queue(q)
        await t.bind(q, x, binding)
        await t.publish(x, key, b"m")
        assert await read_all(t, q, marks) == ([b"m"] if matches else [])


@synchronously
async def test_a_message_reaches_every_bound_queue_once(backend: Backend) -> None:
    x, marks = backend.exchange("x"), backend.exchange("marks")
    q1, q2, q3 = backend.queue("q1"), backend.queue("q2"), backend.queue("q3")
    async with backend.transport() as t:
        await t.declare_exchange(x)
        for q in (q1, q2, q3):
            await t.declare_queue(q)
        for binding in ("a.b", "a.*", "#"):
            await t.bind(q1, x, binding)
        await t.bind(q2, x, "a.b")
        await t.bind(q3, x, "c")
        await t.publish(x, "a.b", b"m")
        assert [await read_all(t, q, marks) for q in (q1, q2, q3)] == [[b"m"], [b"m"], []]
        stats = t.statistics()
        assert (stats.published, stats.queues) == (4, 3)


@synchronously
async def test_exchanges_are_separate(backend: Backend) -> None:
    x, y, q, marks = (backend.exchange("x"), backend.exchange("y"), backend.queue("q"),
                      backend.exchange("marks"))  # fmt: skip
    async with backend.transport() as t:
        await t.declare_exchange(x)
        await t.declare_exchange(y)
        await t.declare_queue(q)
        await t.bind(q, x, "k")
        await t.publish(y, "k", b"elsewhere")
        assert await read_all(t, q, marks) == []


@synchronously
async def test_messages_keep_their_order(backend: Backend) -> None:
    x, q = backend.exchange("x"), backend.queue("q")
    async with backend.transport() as t:
        await t.declare_exchange(x)
        await t.declare_queue(q)
        await t.bind(q, x, "k")
        bodies = [str(i).encode() for i in range(200)]
        for body in bodies:
            await t.publish(x, "k", body)
        assert await take(t.consume(q), 200) == bodies
        assert t.statistics().consumed == 200


@synchronously
async def test_messages_wait_for_the_next_consumer_in_order(backend: Backend) -> None:
    x, q = backend.exchange("x"), backend.queue("q")
    async with backend.transport() as t:
        await t.declare_exchange(x)
        await t.declare_queue(q)
        await t.bind(q, x, "k")
        for body in (b"1", b"2", b"3", b"4"):
            await t.publish(x, "k", body)
        first = t.consume(q)
        assert await take(first, 2) == [b"1", b"2"]
        await first.aclose()  # type: ignore[attr-defined]
        # RabbitMQ's consumer had not acknowledged "2" (it acknowledges a message when asked for
        # the next one): the broker delivers it again, at least once
        again = {"embedded": [b"3", b"4"], "rabbitmq": [b"2", b"3", b"4"]}[backend.kind]
        assert await take(t.consume(q), len(again)) == again


@synchronously
async def test_unbinding_stops_delivery(backend: Backend) -> None:
    x, q, marks = backend.exchange("x"), backend.queue("q"), backend.exchange("marks")
    async with backend.transport() as t:
        await t.declare_exchange(x)
        await t.declare_queue(q)
        await t.bind(q, x, "a.#")
        await t.bind(q, x, "a.#")  # twice: harmless
        await t.unbind(q, x, "a.#")
        await t.unbind(q, x, "never.bound")
        await t.unbind("unknown", "unknown", "k")
        await t.publish(x, "a.b", b"m")
        assert await read_all(t, q, marks) == []
        await t.unbind(q, marks, "marker")
        assert t.statistics().bindings == 0


@synchronously
async def test_deleting_a_queue_ends_its_consumers_and_drops_its_bindings(
    backend: Backend,
) -> None:
    x, q, other = backend.exchange("x"), backend.queue("q"), backend.queue("other")
    async with backend.transport() as t:
        await t.declare_exchange(x)
        await t.declare_queue(q)
        await t.declare_queue(other)
        await t.bind(q, x, "k")
        await t.bind(other, x, "k")
        consumer = t.consume(q)
        await t.publish(x, "k", b"first")
        assert await take(consumer) == [b"first"]
        await t.publish(x, "k", b"pending")
        await t.delete_queue(q)
        await t.delete_queue(q)  # twice: no-op
        assert await rest(consumer) == []
        assert (t.statistics().queues, t.statistics().bindings) == (1, 1)
        with pytest.raises(MessagingError, match="no queue"):
            t.consume(q)
        await t.declare_queue(q)
        await t.publish(x, "k", b"after")
        assert await read_all(t, q, backend.exchange("marks")) == []


@synchronously
async def test_a_waiting_consumer_ends_when_its_queue_is_deleted(backend: Backend) -> None:
    q = backend.queue("q")
    async with backend.transport() as t:
        await t.declare_queue(q)
        consumer = asyncio.ensure_future(rest(t.consume(q)))
        await asyncio.sleep(0.2)  # let it wait for messages
        await t.delete_queue(q)
        assert await consumer == []


@synchronously
async def test_closing_ends_consumers_and_refuses_later_calls(backend: Backend) -> None:
    x, q = backend.exchange("x"), backend.queue("q")
    async with backend.transport() as t:
        await t.declare_exchange(x)
        await t.declare_queue(q)
        consumer = asyncio.ensure_future(rest(t.consume(q)))
        await asyncio.sleep(0.2)
        await t.close()
        await t.close()
        assert await consumer == []
        for call in (t.publish(x, "k", b"m"), t.declare_queue("q2"), t.bind(q, x, "k")):
            with pytest.raises(MessagingError, match="closed"):
                await call
        with pytest.raises(MessagingError, match="closed"):
            t.consume(q)


MISUSES = [
    ("publishing to an undeclared exchange", "exchange", lambda t, q: t.publish("nope", "k", b"")),
    ("binding to an undeclared exchange", "exchange", lambda t, q: t.bind(q, "nope", "k")),
    ("binding an unknown queue", "queue", lambda t, q: t.bind("nope", "x", "k")),
]


@pytest.mark.parametrize(
    "what, action", [m[1:] for m in MISUSES], ids=[f"{m[0]} raises" for m in MISUSES]
)
@synchronously
async def test_misuse_raises_a_messaging_error(backend: Backend, what: str, action: object) -> None:
    q = backend.queue("q")
    async with backend.transport() as t:
        await t.declare_queue(q)
        with pytest.raises(MessagingError, match=f"no {what} 'nope'"):
            await action(t, q)  # type: ignore[operator]
        with pytest.raises(MessagingError, match="no queue 'nope'"):
            t.consume("nope")  # at the call, not at the first message


# -- the clients over RabbitMQ ------------------------------------------------------------------


@pytest.mark.integration
@synchronously
async def test_the_dm_and_agents_talk_through_rabbitmq_on_separate_connections() -> None:
    url = require_shared_broker()
    domain = f"rc-test-{uuid.uuid4().hex[:10]}"
    settings = rabbit_settings(url, domain)
    transports = [await connect_rabbitmq(settings, name=n) for n in ("dm", "/vm 1", "/vm 2")]
    dm = DmClient(transports[0], domain=domain)
    tomcat = AgentClient(transports[1], application="lamp", scoped_path="/vm 1", domain=domain)
    apache = AgentClient(transports[2], application="lamp", scoped_path="/vm 2", domain=domain)
    try:
        await dm.start()
        await dm.manage("lamp")
        for agent in (tomcat, apache):
            await agent.start()
        await tomcat.listen_to_export_requests("Tomcat")
        await apache.listen_to_imports("Tomcat")

        beat = Heartbeat(application="lamp", scoped_path="/vm 2", model_required=True)
        await apache.send_to_dm(beat)
        assert await take(dm.messages()) == [beat]

        command = ChangeInstanceState(
            path="/vm 1/tomcat", requested=InstanceStatus.DEPLOYED_STARTED
        )
        await dm.send_to_agent("lamp", "/vm 1", command)
        tomcat_messages = tomcat.messages()
        assert await take(tomcat_messages) == [command]

        await apache.request_imports("Tomcat")
        assert await take(tomcat_messages) == [RequestImport(application="lamp", prefix="Tomcat")]
        await tomcat.publish_exports("Tomcat", "/vm 1/tomcat", "Tomcat", {"Tomcat.port": "8080"})
        assert await take(apache.messages()) == [
            AddImport(
                application="lamp",
                prefix="Tomcat",
                exporter_path="/vm 1/tomcat",
                component="Tomcat",
                values={"Tomcat.port": "8080"},
            )
        ]
        await dm.delete_agent_queue("lamp", "/vm 1")
        assert await rest(tomcat_messages) == []  # the broker cancelled its consumer
    finally:
        for transport in transports:
            await transport.close()
        await delete_on_broker(
            url,
            queues=[dm.queue, tomcat.queue, apache.queue],
            exchanges=[
                topology.dm_exchange(domain),
                topology.inter_app_exchange(domain),
                topology.agents_exchange("lamp", domain),
            ],
        )


# -- connecting ---------------------------------------------------------------------------------


@pytest.mark.integration
@synchronously
async def test_refused_credentials_fail_at_once_with_a_clear_sentence() -> None:
    url = require_shared_broker().replace("guest:guest@", "guest:wrong-secret@")
    started = time.monotonic()
    with pytest.raises(MessagingError, match="refused the connection") as caught:
        await connect_rabbitmq(rabbit_settings(url), deadline_s=30)
    assert time.monotonic() - started < 5
    assert "wrong-secret" not in str(caught.value)
    assert "guest@127.0.0.1:5672" in str(caught.value)


@synchronously
async def test_an_unreachable_broker_fails_after_the_deadline() -> None:
    node_port = _closed_port()
    url = f"amqp://guest:secret@127.0.0.1:{node_port}/"
    started = time.monotonic()
    with pytest.raises(MessagingError, match=r"within 1\.5 s") as caught:
        await connect_rabbitmq(rabbit_settings(url), deadline_s=1.5)
    assert 1.4 < time.monotonic() - started < 1.5 + 5  # the last attempt, on a busy machine
    assert f"amqp://guest@127.0.0.1:{node_port}" in str(caught.value)
    assert "secret" not in str(caught.value)


def test_the_back_off_grows_with_the_outage_is_capped_and_jittered() -> None:
    assert all(0.05 <= backoff_delay(0) <= 0.1 for _ in range(100))
    assert all(1.0 <= backoff_delay(2) <= 2.0 for _ in range(100))
    delays = {backoff_delay(600) for _ in range(100)}
    assert all(2.5 <= d <= 5.0 for d in delays) and len(delays) > 50


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- faults, on a private node ------------------------------------------------------------------


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRabbit]:
    with private_rabbit(tmp_path_factory.mktemp("rabbitmq")) as started:
        yield started


@pytest.fixture
def running(node: PrivateRabbit) -> PrivateRabbit:
    """The private node, started again if an earlier test left it stopped."""
    node.start()
    return node


async def restart(node: PrivateRabbit, *, kill: bool = False, wipe: bool = False) -> None:
    """Stop (or kill) the node, leave it down a moment, start it (with no data if ``wipe``):
    an outage of ~10 s."""
    await asyncio.to_thread(node.destroy_process if kill else node.stop)
    if wipe:
        node.wipe()
    await asyncio.sleep(1.0)
    await asyncio.to_thread(node.start)


@pytest.mark.integration
@synchronously
async def test_after_a_broker_restart_everything_is_restored_and_nothing_published_is_lost(
    running: PrivateRabbit,
) -> None:
    t = await connect_rabbitmq(rabbit_settings(running.url), name="restart")
    reconnected = asyncio.Event()
    calls: list[str] = []

    async def resynchronise() -> None:
        calls.append("called")
        reconnected.set()

    async def failing() -> None:
        raise RuntimeError("a failing callback is logged, not raised")

    t.on_reconnect(failing)
    t.on_reconnect(resynchronise)
    try:
        await t.declare_exchange("x")
        await t.declare_queue("q")
        await t.bind("q", "x", "k")
        consumer = t.consume("q")
        await t.publish("x", "k", b"before")
        assert await take(consumer) == [b"before"]

        await asyncio.to_thread(running.stop)
        during = asyncio.ensure_future(t.publish("x", "k", b"during"))
        late = asyncio.ensure_future(connect_rabbitmq(rabbit_settings(running.url), name="late"))
        await asyncio.sleep(1.0)
        assert not during.done() and not late.done()
        await asyncio.to_thread(running.start)

        async with asyncio.timeout(RECONNECTION):
            await reconnected.wait()
            await during
            late_transport = await late
        assert calls == ["called"]
        # the queue, its binding and the consumer came back; the outage's publish was kept
        await t.publish("x", "k", b"after")
        assert await take(consumer, 2) == [b"during", b"after"]
        await late_transport.declare_exchange("x")
        await late_transport.publish("x", "k", b"from another connection")
        assert await take(consumer) == [b"from another connection"]
        await late_transport.close()
    finally:
        await t.close()


@pytest.mark.integration
@synchronously
async def test_agents_resynchronise_after_the_broker_was_killed(running: PrivateRabbit) -> None:
    settings = rabbit_settings(running.url, "killed")
    dm_transport = await connect_rabbitmq(settings, name="dm")
    agent_transport = await connect_rabbitmq(settings, name="/vm 1")
    dm = DmClient(dm_transport, domain="killed")
    agent = AgentClient(agent_transport, application="app", scoped_path="/vm 1", domain="killed")
    beat = Heartbeat(application="app", scoped_path="/vm 1")
    agent_transport.on_reconnect(lambda: agent.send_to_dm(beat))
    try:
        await dm.start()
        await dm.manage("app")
        await agent.start()
        to_agent, to_dm = agent.messages(), dm.messages()
        command = ChangeInstanceState(path="/vm 1", requested=InstanceStatus.DEPLOYED_STARTED)

        await restart(running, kill=True)

        async with asyncio.timeout(RECONNECTION):
            # the agent's reconnection callback spoke first; the DM's queue was restored
            assert await anext(to_dm) == beat
            await dm.send_to_agent("app", "/vm 1", command)
            assert await anext(to_agent) == command
    finally:
        await agent_transport.close()
        await dm_transport.close()


@pytest.mark.integration
@synchronously
async def test_a_broker_that_lost_its_data_gets_everything_declared_again(
    running: PrivateRabbit,
) -> None:
    t = await connect_rabbitmq(rabbit_settings(running.url), name="wiped")
    reconnected = asyncio.Event()

    async def resynchronise() -> None:
        reconnected.set()

    t.on_reconnect(resynchronise)
    try:
        for exchange in ("w.x", "w.y"):
            await t.declare_exchange(exchange)
        for queue in ("w.q1", "w.q2"):
            await t.declare_queue(queue)
        await t.bind("w.q1", "w.x", "a.*")
        await t.bind("w.q2", "w.y", "#")
        await t.bind("w.q2", "w.x", "gone")
        await t.unbind("w.q2", "w.x", "gone")
        first, second = t.consume("w.q1"), t.consume("w.q2")

        await restart(running, kill=True, wipe=True)
        async with asyncio.timeout(RECONNECTION):
            await reconnected.wait()

        for key in ("gone", "a.b"):
            await t.publish("w.x", key, key.encode())
        await t.publish("w.y", "any.key", b"y")
        assert await take(first) == [b"a.b"]
        assert await take(second) == [b"y"]  # not "gone": what was unbound stays unbound
        assert (t.statistics().queues, t.statistics().bindings) == (2, 2)
    finally:
        await t.close()
