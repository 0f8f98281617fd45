"""The interface every messaging implementation offers: AMQP 0-9-1's topic model, reduced to
what Roboconf uses. The DM and the agents never use it directly: they use the clients of
:mod:`roboconf.messaging.clients`, which spell every name through :mod:`.topology`.

All exchanges are topic exchanges. Declaring is idempotent; binding twice is harmless; a
message published with a key that no binding matches is dropped (and counted). A queue keeps
its messages in order until consumed; several consumers of one queue share its messages.
Misuse (an undeclared exchange, an unknown queue, a closed transport) raises
:class:`~roboconf.errors.MessagingError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class TransportStatistics:
    """Counters since the transport was created, and the state of its queues now."""

    #: messages accepted by ``publish``
    published: int = 0
    #: copies put into queues (a message reaching three queues counts three)
    delivered: int = 0
    #: published messages that no binding matched
    dropped: int = 0
    #: messages handed to consumers
    consumed: int = 0
    queues: int = 0
    bindings: int = 0
    #: messages waiting in queues now
    pending: int = 0
    #: the most messages one queue has held at once
    deepest: int = 0


class Transport(Protocol):
    async def declare_exchange(self, name: str) -> None:
        """Create the topic exchange ``name`` unless it exists."""

    async def declare_queue(self, name: str) -> None:
        """Create the queue ``name`` unless it exists (its messages and bindings are kept)."""

    async def delete_queue(self, name: str) -> None:
        """Delete a queue, its bindings and its messages; its consumers stop. Unknown: no-op."""

    async def bind(self, queue: str, exchange: str, routing_key: str) -> None:
        """Deliver to ``queue`` what ``exchange`` receives with a key matching ``routing_key``."""

    async def unbind(self, queue: str, exchange: str, routing_key: str) -> None:
        """Undo :meth:`bind`; unbinding what is not bound is a no-op."""

    async def publish(self, exchange: str, routing_key: str, body: bytes) -> None:
        """Route ``body``; returns without waiting for any consumer."""

    def consume(self, queue: str) -> AsyncIterator[bytes]:
        """The queue's messages, in order, until the queue is deleted or the transport closed.

        An unknown queue raises here, not at the first iteration."""
        ...

    def statistics(self) -> TransportStatistics: ...

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Call ``callback`` each time the connection came back after a loss, once every queue,
        binding and consumer is in place again: its owner resynchronises there (agents
        republish their exports, the DM asks for states). Never called by a transport that
        cannot lose its connection."""

    async def close(self) -> None:
        """Stop every consumer; any later call raises ``MessagingError``."""
