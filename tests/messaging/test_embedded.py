"""The embedded router as a transport: fan-out, drops, queues' lives, statistics."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from roboconf.errors import MessagingError
from roboconf.messaging.embedded import EmbeddedRouter
from roboconf.messaging.transport import Transport
from tests.messaging.helpers import rest, synchronously, take


async def router_with(*queues: str) -> EmbeddedRouter:
    router = EmbeddedRouter()
    await router.declare_exchange("x")
    for queue in queues:
        await router.declare_queue(queue)
    return router


def test_the_embedded_router_is_a_transport() -> None:
    transport: Transport = EmbeddedRouter()
    assert transport.statistics().published == 0


@synchronously
async def test_a_message_reaches_every_bound_queue_once() -> None:
    router = await router_with("q1", "q2", "q3")
    await router.bind("q1", "x", "a.b")
    await router.bind("q1", "x", "a.*")
    await router.bind("q1", "x", "#")
    await router.bind("q2", "x", "a.b")
    await router.bind("q3", "x", "c")
    await router.publish("x", "a.b", b"m")
    assert [router.depth(q) for q in ("q1", "q2", "q3")] == [1, 1, 0]
    assert await take(router.consume("q1")) == [b"m"]
    stats = router.statistics()
    assert (stats.published, stats.delivered, stats.dropped, stats.consumed) == (1, 2, 0, 1)


@synchronously
async def test_a_message_no_binding_matches_is_dropped_and_counted() -> None:
    router = await router_with("q")
    await router.bind("q", "x", "machine.vm")
    await router.publish("x", "machine.other", b"lost")
    assert router.depth("q") == 0
    stats = router.statistics()
    assert (stats.published, stats.delivered, stats.dropped) == (1, 0, 1)


@synchronously
async def test_exchanges_are_separate() -> None:
    router = await router_with("q")
    await router.declare_exchange("y")
    await router.bind("q", "x", "k")
    await router.publish("y", "k", b"elsewhere")
    assert router.depth("q") == 0


@synchronously
async def test_messages_keep_their_order() -> None:
    router = await router_with("q")
    await router.bind("q", "x", "k")
    bodies = [str(i).encode() for i in range(100)]
    for body in bodies:
        await router.publish("x", "k", body)
    assert await take(router.consume("q"), 100) == bodies


@synchronously
async def test_publishing_never_waits_for_consumers() -> None:
    router = await router_with("slow")
    await router.bind("slow", "x", "k")
    for _ in range(10_000):
        await router.publish("x", "k", b"m")
    stats = router.statistics()
    assert router.depth("slow") == stats.pending == stats.deepest == 10_000


@synchronously
async def test_unbinding_stops_delivery() -> None:
    router = await router_with("q")
    await router.bind("q", "x", "a.#")
    await router.unbind("q", "x", "a.#")
    await router.unbind("q", "x", "never.bound")
    await router.unbind("unknown", "unknown", "k")
    await router.publish("x", "a.b", b"m")
    assert router.depth("q") == 0
    assert router.statistics().bindings == 0


@synchronously
async def test_deleting_a_queue_drops_its_messages_and_bindings_and_ends_its_consumers() -> None:
    router = await router_with("q", "other")
    await router.bind("q", "x", "k")
    await router.bind("other", "x", "k")
    consumer = router.consume("q")
    await router.publish("x", "k", b"first")
    assert await take(consumer) == [b"first"]
    await router.publish("x", "k", b"pending")
    await router.delete_queue("q")
    await router.delete_queue("q")  # twice: no-op
    assert await rest(consumer) == []
    assert router.statistics().queues == 1
    assert router.statistics().bindings == 1
    await router.declare_queue("q")
    await router.publish("x", "k", b"after")
    assert router.depth("q") == 0


@synchronously
async def test_consumers_of_one_queue_share_its_messages() -> None:
    router = await router_with("q")
    await router.bind("q", "x", "k")
    for body in (b"1", b"2", b"3", b"4"):
        await router.publish("x", "k", body)
    first, second = router.consume("q"), router.consume("q")
    got = await take(first, 2) + await take(second, 2)
    assert sorted(got) == [b"1", b"2", b"3", b"4"]
    await router.delete_queue("q")
    assert await rest(first) == await rest(second) == []


@synchronously
async def test_closing_ends_consumers_and_refuses_later_calls() -> None:
    router = await router_with("q")
    consumer = router.consume("q")
    await router.close()
    await router.close()
    assert await rest(consumer) == []
    with pytest.raises(MessagingError, match="closed"):
        await router.publish("x", "k", b"m")
    with pytest.raises(MessagingError, match="closed"):
        await router.declare_queue("q2")


async def _async(function: Callable[..., object], *args: object) -> object:
    return function(*args)


MISUSES = [
    ("publishing to an undeclared exchange", lambda r: r.publish("nope", "k", b"m"), "exchange"),
    ("binding to an undeclared exchange", lambda r: r.bind("q", "nope", "k"), "exchange"),
    ("binding an unknown queue", lambda r: r.bind("nope", "x", "k"), "queue"),
    ("consuming an unknown queue", lambda r: _async(r.consume, "nope"), "queue"),
]


@pytest.mark.parametrize(
    "action, what", [m[1:] for m in MISUSES], ids=[f"{m[0]} raises" for m in MISUSES]
)
@synchronously
async def test_misuse_raises_a_messaging_error(action: object, what: str) -> None:
    router = await router_with("q")
    with pytest.raises(MessagingError, match=f"no {what} 'nope'"):
        await action(router)  # type: ignore[operator]
