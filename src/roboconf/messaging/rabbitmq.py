"""The RabbitMQ transport (``messaging.type = rabbitmq``): the topic model of
:mod:`.transport` over AMQP 0-9-1 with aio-pika.

Why it is built the way it is:

- **One robust connection, one channel with publisher confirms.** aio-pika's robust objects
  reconnect and declare again, in order, every exchange, queue and binding made through them;
  the transport subscribes its consumers again itself (aio-pika's robust consumers would
  re-create a queue that the DM deleted on purpose, and a consumer the broker cancels for that
  reason must end instead). The transport keeps its own record of what it declared, to refuse
  misuse as the embedded router does (an unknown queue, an undeclared exchange) without a
  round trip that would close the channel.
- **Back-off.** The delay between two connection attempts is about as long as the outage so
  far (so attempts spread out exponentially), between 0.1 s and 5 s, times a random factor:
  thousands of agents cut off by one broker restart do not come back in lockstep.
- **Nothing published is lost to an outage.** A publish, declaration or binding that fails
  because the connection is down waits for the reconnection and is made again, up to
  :data:`OUTAGE_DEADLINE`; publishes are made one at a time and each waits for the broker's
  confirm, so a sender's messages keep their order across retries. A retried publish whose
  confirm was lost may arrive twice (at least once, never zero times).
- **Durable exchanges and queues, transient messages.** The topology survives a broker restart
  by itself, so messages published while a consumer is still reconnecting wait in its queue;
  queues are neither exclusive nor auto-deleted and have no TTL (spec 30 §4: the DM's queue
  never expires messages). Message bodies are not written to disk: a broker restart loses what
  was waiting, which both sides recover by resynchronising (:meth:`on_reconnect`).
- **Acknowledged after use.** A consumed message is acknowledged when the consumer asks for the
  next one, i.e. once it has dealt with it; a consumer that stops or a connection that drops
  leaves the unacknowledged messages to the broker, which delivers them again in order. With a
  prefetch of :data:`PREFETCH`, a busy agent does not starve the others of one queue.
- **Dropped messages are not counted**: publishes are not ``mandatory`` (a message no binding
  matches is simply dropped by the broker, as spec 30 wants), so the broker does not tell us;
  ``dropped``, ``delivered``, ``pending`` and ``deepest`` stay 0 in :meth:`statistics`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustExchange,
    AbstractRobustQueue,
)
from aio_pika.exceptions import (
    AMQPError,
    AuthenticationError,
    ChannelInvalidStateError,
    ChannelNotFoundEntity,
    InvalidFrameError,
    ProbableAuthenticationError,
)
from aio_pika.robust_connection import RobustConnection
from pamqp.commands import Basic
from yarl import URL

from roboconf.errors import MessagingError
from roboconf.messaging.settings import MessagingSettings, MessagingType, TlsSettings
from roboconf.messaging.transport import TransportStatistics

_log = logging.getLogger(__name__)

T = TypeVar("T")

#: the shortest and the longest wait between two connection attempts, in seconds
BACKOFF_FIRST = 0.1
BACKOFF_CAP = 5.0
#: how long :func:`connect_rabbitmq` tries by default before it gives up, in seconds
CONNECT_DEADLINE = 30.0
#: how long an operation waits for a lost connection to come back before it fails, in seconds
OUTAGE_DEADLINE = 300.0
#: unacknowledged messages the broker may send ahead to one consumer
PREFETCH = 64

#: what a lost connection raises (a channel error such as NOT_FOUND is no outage)
_OUTAGE = (ConnectionError, ChannelInvalidStateError, asyncio.InvalidStateError)
#: what refusing our credentials (ACCESS_REFUSED) or our virtual host raises (aiormq reports
#: the broker's NOT_ALLOWED as an unexpected frame): trying again would not help
_REFUSED = (AuthenticationError, ProbableAuthenticationError, InvalidFrameError)


def backoff_delay(outage: float) -> float:
    """Seconds to wait before the next attempt when the broker has been away ``outage``
    seconds: about the outage itself, within [BACKOFF_FIRST, BACKOFF_CAP], jittered."""
    return min(BACKOFF_CAP, max(BACKOFF_FIRST, outage)) * random.uniform(0.5, 1.0)


def tls_context(tls: TlsSettings) -> ssl.SSLContext:
    """The TLS context of :class:`TlsSettings`; unreadable files raise ``MessagingError``."""
    try:
        context = ssl.create_default_context(cafile=tls.ca_file)
        if tls.cert_file:
            context.load_cert_chain(tls.cert_file, tls.key_file)
    except (OSError, ssl.SSLError) as error:
        files = ", ".join(f for f in (tls.ca_file, tls.cert_file, tls.key_file) if f)
        raise MessagingError(f"cannot load the TLS files ({files}): {error}") from error
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _BackoffConnection(RobustConnection):
    """aio-pika's robust connection, with :func:`backoff_delay` instead of a fixed interval."""

    _outage_since: float | None = None

    @property
    def reconnect_interval(self) -> float:
        now = time.monotonic()
        if self._outage_since is None:
            self._outage_since = now
        return backoff_delay(now - self._outage_since)

    @reconnect_interval.setter
    def reconnect_interval(self, value: float) -> None:
        """aio-pika sets its fixed interval here; the back-off replaces it."""

    async def _on_connected(self) -> None:
        await super()._on_connected()
        self._outage_since = None


async def connect_rabbitmq(
    settings: MessagingSettings,
    *,
    name: str = "roboconf",
    deadline_s: float = CONNECT_DEADLINE,
) -> RabbitTransport:
    """Connect to the broker of ``settings``, trying again with back-off for ``deadline_s``
    seconds; ``name`` is the connection's name in the broker (``dm``, an agent's path).

    Refused credentials, an unknown virtual host or a certificate that does not verify raise
    :class:`MessagingError` at once: waiting would not change them."""
    if settings.type is not MessagingType.RABBITMQ:
        raise MessagingError(f"connect_rabbitmq needs rabbitmq settings, not {settings.describe()}")
    url = URL(settings.url)
    context = None
    if settings.tls is not None:
        context = tls_context(settings.tls)
        if url.scheme != "amqps":
            url = url.with_scheme("amqps")
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        remaining = started + deadline_s - loop.time()
        try:
            connection = await aio_pika.connect_robust(
                url,
                ssl_context=context,
                client_properties={"connection_name": name},
                connection_class=_BackoffConnection,
                timeout=max(0.5, min(10.0, remaining)),
            )
            break
        except _REFUSED as error:
            raise MessagingError(
                f"RabbitMQ refused the connection to {settings.describe()} ({error}): "
                "check the user name, the password and the virtual host"
            ) from error
        except (OSError, AMQPError, TimeoutError) as error:
            tls_error = _tls_failure(error)
            if tls_error is not None:
                raise MessagingError(
                    f"no TLS session with {settings.describe()}: {tls_error}; check "
                    "the CA file and the broker's certificate (rabbitmq.ssl.verify=false "
                    "skips the check)"
                ) from error
            remaining = started + deadline_s - loop.time()
            if remaining <= 0:
                raise MessagingError(
                    f"cannot reach RabbitMQ at {settings.describe()} within {deadline_s:g} s "
                    f"({error or type(error).__name__}): is the broker running there?"
                ) from error
            delay = min(remaining, backoff_delay(loop.time() - started))
            _log.info("RabbitMQ at %s unreachable (%s), again in %.1f s", url.host, error, delay)
            await asyncio.sleep(delay)  # the last attempt is made at the deadline
    channel = await connection.channel(publisher_confirms=True)
    await channel.set_qos(prefetch_count=PREFETCH)
    transport = RabbitTransport(connection, channel, where=settings.describe())
    await transport._on_reopened()
    _log.info("connected to %s as %r", settings.describe(), name)
    return transport


def _tls_failure(error: BaseException) -> ssl.SSLError | None:
    """The TLS error behind ``error`` (aiormq wraps it in a connection error), unless it is a
    connection cut during the handshake (worth another attempt)."""
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = cause.__cause__
    return None if isinstance(cause, ssl.SSLEOFError) else cause


#: what ends a consumer: its queue was deleted or the transport closed
_END = None

_Inbox = asyncio.Queue[AbstractIncomingMessage | None]


@dataclass(eq=False)
class _Queue:
    amqp: AbstractRobustQueue
    #: (exchange, binding key) pairs declared through this transport
    bindings: set[tuple[str, str]] = field(default_factory=set)
    #: the inbox of each running consumer, by consumer tag; ``_END`` stops it
    consumers: dict[str, _Inbox] = field(default_factory=dict)
    #: consumers that the broker cancelled (their queue was deleted elsewhere)
    cancelled: set[str] = field(default_factory=set)

    def stop_consumers(self) -> None:
        for inbox in self.consumers.values():
            _end(inbox)


def _end(inbox: _Inbox) -> None:
    while not inbox.empty():
        inbox.get_nowait()
    inbox.put_nowait(_END)


class RabbitTransport:
    """A :class:`~roboconf.messaging.transport.Transport` over one robust AMQP connection;
    made by :func:`connect_rabbitmq`."""

    def __init__(
        self,
        connection: AbstractRobustConnection,
        channel: AbstractRobustChannel,
        *,
        where: str,
        outage_deadline: float = OUTAGE_DEADLINE,
    ) -> None:
        self.outage_deadline = outage_deadline
        self._connection = connection
        self._channel = channel
        self._where = where
        self._exchanges: dict[str, AbstractRobustExchange] = {}
        self._queues: dict[str, _Queue] = {}
        self._callbacks: list[Callable[[], Awaitable[None]]] = []
        self._reconnected = asyncio.Event()
        self._publishing = asyncio.Lock()
        self._closed = False
        self._published = 0
        self._consumed = 0
        connection.reconnect_callbacks.add(self._on_reconnected)
        channel.reopen_callbacks.add(self._on_reopened)
        # The callbacks run in a task of their own, not in aio-pika's reconnection task: one
        # that publishes while the connection drops again must be able to wait for it.
        self._resynchroniser = asyncio.get_running_loop().create_task(self._resynchronise())

    async def declare_exchange(self, name: str) -> None:
        self._check_open()
        if name in self._exchanges:
            return
        self._exchanges[name] = await self._retrying(
            f"declare the exchange {name!r}",
            lambda: self._channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True),
        )

    async def declare_queue(self, name: str) -> None:
        self._check_open()
        if name in self._queues:
            return
        queue = await self._retrying(
            f"declare the queue {name!r}",
            lambda: self._channel.declare_queue(name, durable=True),
        )
        self._queues[name] = _Queue(queue)

    async def delete_queue(self, name: str) -> None:
        self._check_open()
        record = self._queues.pop(name, None)
        if record is not None:
            record.stop_consumers()
        await self._retrying(f"delete the queue {name!r}", lambda: self._channel.queue_delete(name))

    async def bind(self, queue: str, exchange: str, routing_key: str) -> None:
        self._check_open()
        record = self._queue(queue)
        target = self._exchange(exchange)
        await self._retrying(
            f"bind {queue!r} to {exchange!r} with {routing_key!r}",
            lambda: record.amqp.bind(target, routing_key),
        )
        record.bindings.add((exchange, routing_key))

    async def unbind(self, queue: str, exchange: str, routing_key: str) -> None:
        self._check_open()
        record = self._queues.get(queue)
        target = self._exchanges.get(exchange)
        if record is None or target is None:
            return
        await self._retrying(
            f"unbind {queue!r} from {exchange!r} with {routing_key!r}",
            lambda: record.amqp.unbind(target, routing_key),
        )
        record.bindings.discard((exchange, routing_key))

    async def publish(self, exchange: str, routing_key: str, body: bytes) -> None:
        self._check_open()
        target = self._exchange(exchange)
        message = aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT)
        async with self._publishing:
            await self._retrying(
                f"publish to {exchange!r} with {routing_key!r}",
                lambda: target.publish(message, routing_key, mandatory=False),
            )
        self._published += 1

    def consume(self, queue: str) -> AsyncIterator[bytes]:
        self._check_open()
        return self._consume(queue, self._queue(queue))

    async def _consume(self, name: str, record: _Queue) -> AsyncIterator[bytes]:
        inbox: _Inbox = asyncio.Queue()
        # Not robust: aio-pika would declare a queue deleted elsewhere again to consume from
        # it; this transport subscribes again itself after a reconnection (_on_reopened).
        tag = await self._retrying(
            f"consume from {name!r}", lambda: record.amqp.consume(inbox.put, robust=False)
        )
        record.consumers[tag] = inbox
        message: AbstractIncomingMessage | None = None
        try:
            while (message := await inbox.get()) is not _END:
                if _stale(message):
                    continue  # its channel is gone: the broker delivers it again
                self._consumed += 1
                yield message.body
                await _settle(message, ack=True)
                message = None
        finally:
            del record.consumers[tag]
            if self._closed:
                pass  # closing the connection gives the broker back what consumers held
            elif tag in record.cancelled:
                await self._forget_if_deleted(name, record)
            elif self._queues.get(name) is record:
                await self._stop_consumer(record, tag, inbox, message)

    async def _stop_consumer(
        self, record: _Queue, tag: str, inbox: _Inbox, current: AbstractIncomingMessage | None
    ) -> None:
        """A consumer that stops early gives back what it holds, in order, for the next."""
        try:
            await record.amqp.cancel(tag)
        except (AMQPError, *_OUTAGE) as error:
            _log.debug("cancelling consumer %s: %s (its channel is gone)", tag, error)
        held = [current] if current is not None else []
        while not inbox.empty():
            message = inbox.get_nowait()
            if message is not None:
                held.append(message)
        for message in held:
            await _settle(message, ack=False)

    async def _forget_if_deleted(self, name: str, record: _Queue) -> None:
        """The broker ended a consumer: its queue was deleted (by the DM, for a machine gone
        for good), or it moved to another node of a cluster. Forget a deleted queue, so that
        no reconnection declares it again; consume from a queue that moved, again."""
        try:
            probe = await self._connection.channel(publisher_confirms=False)
            try:
                await probe.declare_queue(name, passive=True, robust=False)
            finally:
                await probe.close()
        except ChannelNotFoundEntity:
            if self._queues.get(name) is record:
                _log.info("the queue %r was deleted on the broker: its consumers end", name)
                del self._queues[name]
                record.stop_consumers()
                await self._retrying(
                    f"forget the queue {name!r}", lambda: self._channel.queue_delete(name)
                )
            return
        except (AMQPError, *_OUTAGE) as error:
            _log.warning("could not check whether the queue %r still exists: %s", name, error)

    def _on_cancelled(self, frame: Basic.Cancel) -> None:
        """The broker cancelled a consumer (called in aiormq's reader: no I/O here)."""
        tag = frame.consumer_tag or ""
        for record in self._queues.values():
            inbox = record.consumers.get(tag)
            if inbox is not None:
                record.cancelled.add(tag)
                _end(inbox)

    async def _on_reopened(self, _channel: object = None) -> None:
        """After aio-pika reopened the channel (and declared the queues and bindings again):
        watch the new channel, and subscribe every running consumer again. aio-pika ignores
        what this raises, hence the log."""
        try:
            underlay = await self._channel.get_underlay_channel()
            underlay.on_consumer_cancel_callbacks.add(self._on_cancelled)
            for record in self._queues.values():
                for tag, inbox in record.consumers.items():
                    await record.amqp.consume(inbox.put, consumer_tag=tag, robust=False)
        except Exception:
            _log.exception("consumers not subscribed again after a reconnection to %s", self._where)

    def statistics(self) -> TransportStatistics:
        return TransportStatistics(
            published=self._published,
            consumed=self._consumed,
            queues=len(self._queues),
            bindings=sum(len(record.bindings) for record in self._queues.values()),
        )

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._callbacks.append(callback)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for record in self._queues.values():
            record.stop_consumers()
        # closed by a reconnection callback: the task ends by itself after it
        if self._resynchroniser is not asyncio.current_task():
            self._resynchroniser.cancel()
            await asyncio.gather(self._resynchroniser, return_exceptions=True)
        await self._connection.close()

    async def _on_reconnected(self, _connection: object) -> None:
        """aio-pika has declared everything again (else it would not call this)."""
        _log.info("reconnected to %s; exchanges, queues and consumers restored", self._where)
        self._reconnected.set()

    async def _resynchronise(self) -> None:
        while not self._closed:
            await self._reconnected.wait()
            self._reconnected.clear()
            for callback in list(self._callbacks):
                try:
                    await callback()
                except Exception:
                    _log.exception("a reconnection callback failed: %r", callback)

    async def _retrying(self, what: str, action: Callable[[], Awaitable[T]]) -> T:
        """``action()``, made again after each reconnection until ``outage_deadline``."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.outage_deadline
        while True:
            self._check_open()
            try:
                return await action()
            except _OUTAGE as error:
                _log.info("could not %s (%s): waiting for the broker", what, error or "lost")
                await self._wait_for_connection(what, give_up, error)
            except AMQPError as error:
                raise MessagingError(f"RabbitMQ refused to {what}: {error}") from error

    async def _wait_for_connection(self, what: str, give_up: float, error: Exception) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(BACKOFF_FIRST)  # let the connection notice it is down
        while not self._closed:
            if loop.time() >= give_up:
                raise MessagingError(
                    f"could not {what}: RabbitMQ at {self._where} has been unreachable for "
                    f"{self.outage_deadline:g} s ({error or type(error).__name__})"
                ) from error
            try:
                async with asyncio.timeout(min(1.0, give_up - loop.time())):
                    await self._channel.ready()
                return
            except TimeoutError:
                continue

    def _check_open(self) -> None:
        if self._closed:
            raise MessagingError(f"the RabbitMQ transport to {self._where} is closed")

    def _queue(self, name: str) -> _Queue:
        record = self._queues.get(name)
        if record is None:
            raise MessagingError(f"there is no queue {name!r}: declare it first")
        return record

    def _exchange(self, name: str) -> AbstractRobustExchange:
        exchange = self._exchanges.get(name)
        if exchange is None:
            raise MessagingError(f"there is no exchange {name!r}: declare it first")
        return exchange


def _stale(message: AbstractIncomingMessage) -> bool:
    """Whether ``message`` came through a channel that has closed since."""
    try:
        message.channel  # noqa: B018 - raises once the channel is closed
    except ChannelInvalidStateError:
        return True
    return False


async def _settle(message: AbstractIncomingMessage, *, ack: bool) -> None:
    """Acknowledge, or give back to the queue; on a closed channel the broker did it."""
    try:
        if ack:
            await message.ack()
        else:
            await message.nack(requeue=True)
    except (AMQPError, *_OUTAGE) as error:
        _log.debug("message %s not settled: %s (it will come again)", message.delivery_tag, error)


__all__ = ["RabbitTransport", "backoff_delay", "connect_rabbitmq", "tls_context"]
