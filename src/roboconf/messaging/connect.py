"""A transport for given settings: the one place that picks an implementation.

The DM routes itself with the embedded router unless a broker is configured (agents that use
``http`` reach that router through the DM's API); a separate agent process needs a broker or the
DM's address. The implementations are imported only when chosen: aio-pika and websockets
are not loaded by a DM that needs neither.
"""

from __future__ import annotations

from roboconf.errors import MessagingError
from roboconf.messaging.embedded import EmbeddedRouter
from roboconf.messaging.settings import MessagingSettings, MessagingType
from roboconf.messaging.transport import Transport


async def dm_transport(settings: MessagingSettings, *, deadline_s: float = 30.0) -> Transport:
    """The DM's transport: the broker's for ``rabbitmq``, else an embedded router (``http``
    agents are routed by it through the DM's API)."""
    if settings.type is MessagingType.RABBITMQ:
        from roboconf.messaging.rabbitmq import connect_rabbitmq

        return await connect_rabbitmq(settings, name="roboconf-dm", deadline_s=deadline_s)
    return EmbeddedRouter()


async def agent_transport(
    settings: MessagingSettings, *, name: str, deadline_s: float = 30.0
) -> Transport:
    """The transport of an agent running in its own process (``rabbitmq`` or ``http``)."""
    if settings.type is MessagingType.RABBITMQ:
        from roboconf.messaging.rabbitmq import connect_rabbitmq

        return await connect_rabbitmq(settings, name=name, deadline_s=deadline_s)
    if settings.type is MessagingType.HTTP:
        from roboconf.messaging.http import connect_http

        return await connect_http(settings, name=name, deadline_s=deadline_s)
    raise MessagingError(
        "an agent in its own process cannot use the embedded router (it lives in the DM's "
        "process): set messaging.type to rabbitmq, or to http with http.url = the DM's address"
    )
