"""The in-process transport: RabbitMQ's topic routing without a broker.

It serves ``roboconf run``, the in-memory target, the tests and simulations of thousands of
agents in one event loop. Routing is one dictionary lookup per exact binding key
(:mod:`.routing`); each queue is an unbounded :class:`asyncio.Queue`, so publishing never waits
for a slow consumer; :meth:`EmbeddedRouter.depth` and :meth:`EmbeddedRouter.statistics` show
how far consumers lag.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from roboconf.errors import MessagingError
from roboconf.messaging.routing import TopicBindings
from roboconf.messaging.transport import TransportStatistics


class _Queue:
    __slots__ = ("bindings", "items")

    def __init__(self) -> None:
        #: None tells consumers to stop (the queue was deleted or the router closed)
        self.items: asyncio.Queue[bytes | None] = asyncio.Queue()
        #: (exchange, binding key) pairs, to unbind everything when the queue goes
        self.bindings: set[tuple[str, str]] = set()

    def stop_consumers(self) -> None:
        while not self.items.empty():
            self.items.get_nowait()
        self.items.put_nowait(None)


class EmbeddedRouter:
    """A :class:`~roboconf.messaging.transport.Transport` in this process."""

    def __init__(self) -> None:
        self._exchanges: dict[str, TopicBindings] = {}
        self._queues: dict[str, _Queue] = {}
        self._closed = False
        self._published = 0
        self._delivered = 0
        self._dropped = 0
        self._consumed = 0
        self._deepest = 0

    async def declare_exchange(self, name: str) -> None:
        self._check_open()
        self._exchanges.setdefault(name, TopicBindings())

    async def declare_queue(self, name: str) -> None:
        self._check_open()
        if name not in self._queues:
            self._queues[name] = _Queue()

    async def delete_queue(self, name: str) -> None:
        self._check_open()
        queue = self._queues.pop(name, None)
        if queue is None:
            return
        for exchange, key in queue.bindings:
            self._exchanges[exchange].remove(key, name)
        queue.stop_consumers()

    async def bind(self, queue: str, exchange: str, routing_key: str) -> None:
        self._check_open()
        record = self._queue(queue)
        self._exchange(exchange).add(routing_key, queue)
        record.bindings.add((exchange, routing_key))

    async def unbind(self, queue: str, exchange: str, routing_key: str) -> None:
        self._check_open()
        record = self._queues.get(queue)
        table = self._exchanges.get(exchange)
        if record is not None and table is not None:
            table.remove(routing_key, queue)
            record.bindings.discard((exchange, routing_key))

    async def publish(self, exchange: str, routing_key: str, body: bytes) -> None:
        self._check_open()
        targets = self._exchange(exchange).match(routing_key)
        self._published += 1
        if not targets:
            self._dropped += 1
            return
        for name in targets:
            queue = self._queues[name]
            queue.items.put_nowait(body)
            if queue.items.qsize() > self._deepest:
                self._deepest = queue.items.qsize()
        self._delivered += len(targets)

    def consume(self, queue: str) -> AsyncIterator[bytes]:
        self._check_open()
        return self._consume(self._queue(queue).items)

    async def _consume(self, items: asyncio.Queue[bytes | None]) -> AsyncIterator[bytes]:
        while True:
            body = await items.get()
            if body is None:
                items.put_nowait(None)  # for the other consumers of this queue
                return
            self._consumed += 1
            yield body

    def depth(self, queue: str) -> int:
        """Messages waiting in ``queue`` (0 for an unknown queue)."""
        record = self._queues.get(queue)
        return record.items.qsize() if record is not None else 0

    def statistics(self) -> TransportStatistics:
        return TransportStatistics(
            published=self._published,
            delivered=self._delivered,
            dropped=self._dropped,
            consumed=self._consumed,
            queues=len(self._queues),
            bindings=sum(len(table) for table in self._exchanges.values()),
            pending=sum(queue.items.qsize() for queue in self._queues.values()),
            deepest=self._deepest,
        )

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        """The router is in this process: it never loses its connection."""

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for queue in self._queues.values():
            queue.stop_consumers()

    def _check_open(self) -> None:
        if self._closed:
            raise MessagingError("the embedded router is closed")

    def _queue(self, name: str) -> _Queue:
        queue = self._queues.get(name)
        if queue is None:
            raise MessagingError(f"there is no queue {name!r}: declare it first")
        return queue

    def _exchange(self, name: str) -> TopicBindings:
        table = self._exchanges.get(name)
        if table is None:
            raise MessagingError(f"there is no exchange {name!r}: declare it first")
        return table
