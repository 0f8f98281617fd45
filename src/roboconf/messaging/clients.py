"""What the agent and the DM say to each other, on top of any transport.

The clients spell every exchange, queue and routing key (spec 30 §2, :mod:`.topology`) and
encode every message, so that neither the agent nor the DM handles names or bytes. Imports and
exports travel on the application's exchange, or with ``external=True`` on the exchange that
applications share, where the prefix is a template's exports prefix.

A change of exports reaches exactly the agents that listen to its prefix: one publish, fanned
out by the transport to the importers' queues, whatever the size of the application.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from roboconf.messaging import topology
from roboconf.messaging.codec import decode, encode
from roboconf.messaging.messages import (
    AddImport,
    Echo,
    Message,
    RemoveImport,
    RequestImport,
)
from roboconf.messaging.transport import Transport


class AgentClient:
    """The messaging of the agent of ``scoped_path`` in ``application``."""

    def __init__(
        self,
        transport: Transport,
        *,
        application: str,
        scoped_path: str,
        domain: str = topology.DEFAULT_DOMAIN,
    ) -> None:
        self.application = application
        self.scoped_path = scoped_path
        self.queue = topology.agent_queue(application, scoped_path, domain)
        self._transport = transport
        self._exchange = topology.agents_exchange(application, domain)
        self._inter_app = topology.inter_app_exchange(domain)
        self._dm = topology.dm_exchange(domain)

    async def start(self) -> None:
        """Declare what the agent uses and listen to the DM's messages for its machine."""
        for exchange in (self._exchange, self._inter_app, self._dm):
            await self._transport.declare_exchange(exchange)
        await self._transport.declare_queue(self.queue)
        key = topology.machine_key(self.scoped_path)
        await self._transport.bind(self.queue, self._exchange, key)

    async def stop(self) -> None:
        """The agent goes away for good: delete its queue and bindings; ``messages`` ends."""
        await self._transport.delete_queue(self.queue)

    async def listen_to_imports(self, prefix: str, *, external: bool = False) -> None:
        """Receive the exports and withdrawals of ``prefix`` (``AddImport``, ``RemoveImport``)."""
        key = topology.importers_key(prefix)
        await self._transport.bind(self.queue, self._where(external), key)

    async def stop_listening_to_imports(self, prefix: str, *, external: bool = False) -> None:
        key = topology.importers_key(prefix)
        await self._transport.unbind(self.queue, self._where(external), key)

    async def listen_to_export_requests(self, prefix: str, *, external: bool = False) -> None:
        """Receive the requests for the exports of ``prefix`` (``RequestImport``)."""
        key = topology.exporters_key(prefix)
        await self._transport.bind(self.queue, self._where(external), key)

    async def stop_listening_to_export_requests(
        self, prefix: str, *, external: bool = False
    ) -> None:
        key = topology.exporters_key(prefix)
        await self._transport.unbind(self.queue, self._where(external), key)

    async def publish_exports(
        self,
        prefix: str,
        exporter_path: str,
        component: str,
        values: Mapping[str, str | None],
        *,
        external: bool = False,
    ) -> None:
        """Tell the importers of ``prefix`` what ``exporter_path`` exports for it."""
        message = AddImport(
            application=self.application,
            prefix=prefix,
            exporter_path=exporter_path,
            component=component,
            values=values,
        )
        await self._to_importers(message, external)

    async def withdraw_exports(
        self, prefix: str, exporter_path: str, *, external: bool = False
    ) -> None:
        """Tell the importers of ``prefix`` that ``exporter_path`` no longer exports it."""
        message = RemoveImport(
            application=self.application, prefix=prefix, exporter_path=exporter_path
        )
        await self._to_importers(message, external)

    async def request_imports(self, prefix: str, *, external: bool = False) -> None:
        """Ask every exporter of ``prefix`` to publish its exports again."""
        message = RequestImport(application=self.application, prefix=prefix)
        key = topology.exporters_key(prefix)
        await self._transport.publish(self._where(external), key, encode(message))

    async def send_to_dm(self, message: Message) -> None:
        key = topology.dm_key(self.application)
        await self._transport.publish(self._dm, key, encode(message))

    def messages(self) -> AsyncIterator[Message]:
        """What reaches the agent, in order; unreadable messages are logged and skipped."""
        return _decoded(self._transport.consume(self.queue))

    def _where(self, external: bool) -> str:
        return self._inter_app if external else self._exchange

    async def _to_importers(self, message: AddImport | RemoveImport, external: bool) -> None:
        key = topology.importers_key(message.prefix)
        await self._transport.publish(self._where(external), key, encode(message))


class DmClient:
    """The messaging of the DM of ``domain``."""

    def __init__(self, transport: Transport, *, domain: str = topology.DEFAULT_DOMAIN) -> None:
        self.domain = domain
        self.queue = topology.dm_queue(domain)
        self._transport = transport
        self._exchange = topology.dm_exchange(domain)
        self._inter_app = topology.inter_app_exchange(domain)

    async def start(self) -> None:
        """Declare the DM's exchanges and queue; listen to its own echoes."""
        for exchange in (self._exchange, self._inter_app):
            await self._transport.declare_exchange(exchange)
        await self._transport.declare_queue(self.queue)
        await self._transport.bind(self.queue, self._exchange, topology.ECHO_KEY)

    async def manage(self, application: str) -> None:
        """Declare the application's exchange and receive its agents' notifications."""
        await self._transport.declare_exchange(self._agents(application))
        await self._transport.bind(self.queue, self._exchange, topology.dm_key(application))

    async def forget(self, application: str) -> None:
        """Stop receiving the application's notifications."""
        await self._transport.unbind(self.queue, self._exchange, topology.dm_key(application))

    async def send_to_agent(self, application: str, scoped_path: str, message: Message) -> None:
        """Send to the agent of ``scoped_path``; dropped (and counted) if no agent listens."""
        key = topology.machine_key(scoped_path)
        await self._transport.publish(self._agents(application), key, encode(message))

    async def publish_on_behalf(
        self, message: AddImport | RemoveImport, *, external: bool = False
    ) -> None:
        """Publish to the importers of ``message.prefix`` in ``message.application`` as if its
        exporter had: how the exports of a lost machine are withdrawn."""
        exchange = self._inter_app if external else self._agents(message.application)
        await self._transport.publish(
            exchange, topology.importers_key(message.prefix), encode(message)
        )

    async def delete_agent_queue(self, application: str, scoped_path: str) -> None:
        """Delete the queue of a machine that is gone for good (messages for it pile up else)."""
        queue = topology.agent_queue(application, scoped_path, self.domain)
        await self._transport.delete_queue(queue)

    async def echo(self, content: str) -> None:
        """Send an ``Echo`` to the DM itself through the transport (a broker check)."""
        message = encode(Echo(content=content))
        await self._transport.publish(self._exchange, topology.ECHO_KEY, message)

    def messages(self) -> AsyncIterator[Message]:
        """What reaches the DM, in order; unreadable messages are logged and skipped."""
        return _decoded(self._transport.consume(self.queue))

    def _agents(self, application: str) -> str:
        return topology.agents_exchange(application, self.domain)


async def _decoded(bodies: AsyncIterator[bytes]) -> AsyncIterator[Message]:
    async for body in bodies:
        message = decode(body)
        if message is not None:
            yield message
