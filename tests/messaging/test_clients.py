"""The agent and DM clients over the embedded router: who receives what."""

from __future__ import annotations

import dataclasses

from roboconf.messaging import topology
from roboconf.messaging.clients import AgentClient, DmClient
from roboconf.messaging.embedded import EmbeddedRouter
from roboconf.messaging.messages import (
    AddImport,
    ChangeInstanceState,
    Echo,
    Heartbeat,
    RemoveImport,
    RequestImport,
)
from roboconf.model.types import InstanceStatus
from tests.messaging.helpers import rest, synchronously, take

APP = "lamp"
TOMCAT_VALUES = {"Tomcat.ip": "10.0.0.2", "Tomcat.port": "8080"}


@dataclasses.dataclass
class Deployment:
    """A DM and three agents of one application: ``tomcat`` exports ``Tomcat``; ``apache``
    imports it; ``mysql`` has nothing to do with it."""

    router: EmbeddedRouter
    dm: DmClient
    tomcat: AgentClient
    apache: AgentClient
    mysql: AgentClient

    def depths(self) -> list[int]:
        agents = (self.tomcat, self.apache, self.mysql)
        return [self.router.depth(a.queue) for a in agents]


async def deployment() -> Deployment:
    router = EmbeddedRouter()
    dm = DmClient(router)
    await dm.start()
    await dm.manage(APP)
    agents = [AgentClient(router, application=APP, scoped_path=f"/vm {n}") for n in (1, 2, 3)]
    for agent in agents:
        await agent.start()
    tomcat, apache, mysql = agents
    await tomcat.listen_to_export_requests("Tomcat")
    await apache.listen_to_imports("Tomcat")
    return Deployment(router, dm, tomcat, apache, mysql)


@synchronously
async def test_exports_reach_exactly_the_importers() -> None:
    d = await deployment()
    before = d.router.statistics()
    await d.tomcat.publish_exports("Tomcat", "/vm 1/tomcat", "Tomcat", TOMCAT_VALUES)
    assert d.depths() == [0, 1, 0]
    assert await take(d.apache.messages()) == [
        AddImport(
            application=APP,
            prefix="Tomcat",
            exporter_path="/vm 1/tomcat",
            component="Tomcat",
            values=TOMCAT_VALUES,
        )
    ]
    after = d.router.statistics()
    assert (after.published - before.published, after.delivered - before.delivered) == (1, 1)


@synchronously
async def test_withdrawals_reach_exactly_the_importers() -> None:
    d = await deployment()
    await d.tomcat.withdraw_exports("Tomcat", "/vm 1/tomcat")
    assert d.depths() == [0, 1, 0]
    assert await take(d.apache.messages()) == [
        RemoveImport(application=APP, prefix="Tomcat", exporter_path="/vm 1/tomcat")
    ]


@synchronously
async def test_requests_reach_exactly_the_exporters() -> None:
    d = await deployment()
    await d.apache.request_imports("Tomcat")
    assert d.depths() == [1, 0, 0]
    assert await take(d.tomcat.messages()) == [RequestImport(application=APP, prefix="Tomcat")]


@synchronously
async def test_one_change_costs_one_delivery_per_importer() -> None:
    d = await deployment()
    await d.mysql.listen_to_imports("Tomcat")
    before = d.router.statistics()
    await d.tomcat.publish_exports("Tomcat", "/vm 1/tomcat", "Tomcat", TOMCAT_VALUES)
    after = d.router.statistics()
    assert after.delivered - before.delivered == 2
    assert d.depths() == [0, 1, 1]


@synchronously
async def test_an_agent_that_stops_listening_receives_nothing_more() -> None:
    d = await deployment()
    await d.apache.stop_listening_to_imports("Tomcat")
    await d.tomcat.stop_listening_to_export_requests("Tomcat")
    await d.tomcat.publish_exports("Tomcat", "/vm 1/tomcat", "Tomcat", TOMCAT_VALUES)
    await d.apache.request_imports("Tomcat")
    assert d.depths() == [0, 0, 0]
    assert d.router.statistics().dropped == 2


@synchronously
async def test_the_dm_receives_the_notifications_of_the_applications_it_manages() -> None:
    d = await deployment()
    beat = Heartbeat(application=APP, scoped_path="/vm 2", ip="10.0.0.3", model_required=True)
    await d.apache.send_to_dm(beat)
    assert await take(d.dm.messages()) == [beat]
    await d.dm.forget(APP)
    await d.apache.send_to_dm(beat)
    assert d.router.depth(d.dm.queue) == 0
    assert d.router.statistics().dropped == 1


@synchronously
async def test_the_dm_reaches_one_agent_and_drops_what_no_agent_listens_to() -> None:
    d = await deployment()
    command = ChangeInstanceState(path="/vm 3/db", requested=InstanceStatus.DEPLOYED_STARTED)
    await d.dm.send_to_agent(APP, "/vm 3", command)
    assert d.depths() == [0, 0, 1]
    assert await take(d.mysql.messages()) == [command]
    await d.dm.send_to_agent(APP, "/vm 9", command)
    await d.dm.send_to_agent(APP, "/vm 3/db", command)  # not a machine key anyone bound
    assert d.depths() == [0, 0, 0]
    assert d.router.statistics().dropped == 2


@synchronously
async def test_the_dm_withdraws_exports_on_behalf_of_a_lost_machine() -> None:
    d = await deployment()
    withdrawal = RemoveImport(application=APP, prefix="Tomcat", exporter_path="/vm 1/tomcat")
    await d.dm.publish_on_behalf(withdrawal)
    assert d.depths() == [0, 1, 0]
    assert await take(d.apache.messages()) == [withdrawal]


@synchronously
async def test_applications_do_not_hear_each_other() -> None:
    d = await deployment()
    await d.dm.manage("other")
    twin = AgentClient(d.router, application="other", scoped_path="/vm 2")
    await twin.start()
    await twin.listen_to_imports("Tomcat")
    await d.tomcat.publish_exports("Tomcat", "/vm 1/tomcat", "Tomcat", TOMCAT_VALUES)
    await d.dm.send_to_agent("other", "/vm 2", Echo(content="ping"))
    assert d.depths() == [0, 1, 0]
    assert d.router.depth(twin.queue) == 1
    assert await take(twin.messages()) == [Echo(content="ping")]


@synchronously
async def test_external_exports_travel_between_applications_only_to_their_importers() -> None:
    d = await deployment()
    await d.dm.manage("shop")
    shop = AgentClient(d.router, application="shop", scoped_path="/web")
    await shop.start()
    await shop.listen_to_imports("Lamp", external=True)
    await d.tomcat.listen_to_export_requests("Lamp", external=True)
    await shop.request_imports("Lamp", external=True)
    assert await take(d.tomcat.messages()) == [RequestImport(application="shop", prefix="Lamp")]
    await d.tomcat.publish_exports(
        "Lamp", "/vm 1/tomcat", "Tomcat", {"Lamp.lb-ip": "10.0.0.2"}, external=True
    )
    assert d.depths() == [0, 0, 0]
    (message,) = await take(shop.messages())
    assert isinstance(message, AddImport)
    assert (message.application, message.values) == (APP, {"Lamp.lb-ip": "10.0.0.2"})
    await d.tomcat.withdraw_exports("Lamp", "/vm 1/tomcat", external=True)
    await d.dm.publish_on_behalf(
        RemoveImport(application=APP, prefix="Lamp", exporter_path="/vm 1/tomcat"),
        external=True,
    )
    assert d.router.depth(shop.queue) == 2


@synchronously
async def test_the_dm_hears_its_own_echo() -> None:
    d = await deployment()
    await d.dm.echo("are you there?")
    assert await take(d.dm.messages()) == [Echo(content="are you there?")]


@synchronously
async def test_unreadable_messages_are_skipped() -> None:
    d = await deployment()
    exchange = topology.agents_exchange(APP)
    await d.router.publish(exchange, topology.machine_key("/vm 3"), b"{not json")
    await d.router.publish(exchange, topology.machine_key("/vm 3"), b'{"type":"Bomb"}')
    await d.dm.send_to_agent(APP, "/vm 3", Echo(content="still here"))
    assert await take(d.mysql.messages()) == [Echo(content="still here")]


@synchronously
async def test_an_agent_that_stops_ends_its_messages_and_leaves_no_binding() -> None:
    d = await deployment()
    messages = d.apache.messages()
    bindings = d.router.statistics().bindings
    await d.apache.stop()
    assert await rest(messages) == []
    assert d.router.statistics().bindings == bindings - 2  # its machine key and its import
    await d.tomcat.publish_exports("Tomcat", "/vm 1/tomcat", "Tomcat", TOMCAT_VALUES)
    assert d.router.statistics().dropped == 1


@synchronously
async def test_the_dm_deletes_the_queue_of_a_machine_gone_for_good() -> None:
    d = await deployment()
    await d.dm.delete_agent_queue(APP, "/vm 2")
    assert d.router.statistics().queues == 3  # the DM's and two agents'


@synchronously
async def test_starting_twice_is_harmless() -> None:
    d = await deployment()
    bindings = d.router.statistics().bindings
    await d.apache.start()
    await d.dm.start()
    await d.dm.manage(APP)
    assert d.router.statistics().bindings == bindings


@synchronously
async def test_domains_keep_dms_apart() -> None:
    router = EmbeddedRouter()
    first, second = DmClient(router), DmClient(router, domain="test")
    for dm in (first, second):
        await dm.start()
        await dm.manage(APP)
    agent = AgentClient(router, application=APP, scoped_path="/vm", domain="test")
    await agent.start()
    await agent.send_to_dm(Heartbeat(application=APP, scoped_path="/vm"))
    assert (router.depth(first.queue), router.depth(second.queue)) == (0, 1)
