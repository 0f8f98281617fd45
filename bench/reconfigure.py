"""P3 of 80-quality.md: reconfiguration latency over RabbitMQ.

From the moment a provider reaches DEPLOYED_STARTED (its ``start`` step returns; its agent
then publishes its exports) to the moment the importer's ``update`` recipe starts. A load
balancer importing ``AppServer.*`` runs on its own machine; app servers are added one at a time
under a few existing machines and started (through the DM service, as the API would), each
join waiting for the balancer's ``update`` before the next one.

Composed as ``roboconf dm --messaging rabbitmq`` composes the platform (DM service with an
in-memory store, the in-memory target), except that plug-ins are a recording plug-in (every
step succeeds at once; ``start`` and ``update`` are timestamped with ``time.perf_counter()``)
and that each agent has its own connection to the broker, as an agent process would (the
``--shared-connection`` option makes them share the DM's, as ``roboconf dm`` does today).
Publishes of ``AddImport`` for ``AppServer`` are timestamped too (a wrapper around the
transport). Everything runs in this process, so the clocks are one. The same joins are then
measured on the embedded router, for comparison.

    python bench/reconfigure.py [--joins 200] [--machines 4] [--warm-up 10]
                                [--url amqp://guest:guest@127.0.0.1:5672/] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import (
    DEFAULT_URL,
    descriptor,
    machine_info,
    percentiles,
    purge_domain,
    rabbit,
    template,
    unique_domain,
)

from roboconf.agent.agent import Agent, AgentSettings
from roboconf.cli.embedded import IN_MEMORY
from roboconf.dm.manager import DmSettings
from roboconf.dm.service import DmService, ServiceSettings
from roboconf.messaging import topology
from roboconf.messaging.codec import decode
from roboconf.messaging.embedded import EmbeddedRouter
from roboconf.messaging.messages import AddImport
from roboconf.messaging.rabbitmq import connect_rabbitmq
from roboconf.messaging.settings import MessagingSettings
from roboconf.messaging.transport import Transport, TransportStatistics
from roboconf.model import InstanceStatus
from roboconf.plugins.base import StepContext, StepResult
from roboconf.targets.base import MachineIdentity, TargetDefinition
from roboconf.targets.in_memory import InMemoryHandler

STARTED = InstanceStatus.DEPLOYED_STARTED
NOT_DEPLOYED = InstanceStatus.NOT_DEPLOYED
P50_TARGET_MS = 20.0
P99_TARGET_MS = 100.0
APPLICATION = "p3"
BALANCER = "/balancer vm/balancer"

# -- the template -------------------------------------------------------------------------------

GRAPH = """\
# Generated for the P3 benchmark.
VM {
\tinstaller: target;
\tchildren: AppServer, LoadBalancer;
}

AppServer {
\tinstaller: script;
\texports: ip, port = 8080;
}

LoadBalancer {
\tinstaller: script;
\texports: ip, port = 80;
\timports: AppServer.ip, AppServer.port;
}
"""


def files(machines: int) -> dict[str, str]:
    """A balancer machine, and ``machines`` machines holding one app server each."""
    lines = ["instance of VM {", "\tname: balancer vm;", "\tinstance of LoadBalancer {"]
    lines += ["\t\tname: balancer;", "\t}", "}"]
    for index in range(machines):
        lines += ["instance of VM {", f"\tname: app vm {index};", "\tinstance of AppServer {"]
        lines += ["\t\tname: server 0;", "\t}", "}"]
    return {
        "descriptor/application.properties": descriptor("p3"),
        "graph/main.graph": GRAPH,
        "instances/model.instances": "\n".join(lines) + "\n",
        "graph/AppServer/.keep": "",
        "graph/LoadBalancer/.keep": "",
    }


# -- recording ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Recorder:
    """When app servers finished starting, when their exports were published, when the
    balancer's ``update`` started for them (``perf_counter`` seconds, first occurrence)."""

    started: dict[str, float] = field(default_factory=dict)
    published: dict[str, float] = field(default_factory=dict)
    updated: dict[str, float] = field(default_factory=dict)
    waiting: dict[str, asyncio.Event] = field(default_factory=dict)
    #: raw AddImport publishes (time, body), decoded after the run
    bodies: list[tuple[float, bytes]] = field(default_factory=list)

    def expect(self, provider: str) -> asyncio.Event:
        event = self.waiting[provider] = asyncio.Event()
        return event

    def decode_publishes(self) -> None:
        for moment, body in self.bodies:
            message = decode(body)
            if isinstance(message, AddImport):
                self.published.setdefault(message.exporter_path, moment)
        self.bodies.clear()


class RecordingPlugin:
    """Every step succeeds at once; ``start`` of app servers and ``update`` of the balancer
    are timestamped (``update``: when the recipe would start)."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder

    async def run(self, step: str, context: StepContext) -> StepResult:
        now = time.perf_counter()
        recorder = self._recorder
        if step == "update" and context.change is not None and not context.change.removed:
            provider = context.change.provider.path
            recorder.updated.setdefault(provider, now)
            waiting = recorder.waiting.pop(provider, None)
            if waiting is not None:
                waiting.set()
        result = StepResult(step=step, ok=True, reason=f"{step} simulated")
        if step == "start" and context.component == "AppServer":
            recorder.started.setdefault(context.instance_path, time.perf_counter())
        return result


class RecordingTransport:
    """A transport that timestamps, before publishing them, the exports of app servers."""

    def __init__(self, inner: Transport, recorder: Recorder, domain: str) -> None:
        self._inner = inner
        self._recorder = recorder
        self._exchange = topology.agents_exchange(APPLICATION, domain)
        self._key = topology.importers_key("AppServer")

    async def publish(self, exchange: str, routing_key: str, body: bytes) -> None:
        if routing_key == self._key and exchange == self._exchange:
            self._recorder.bodies.append((time.perf_counter(), body))
        await self._inner.publish(exchange, routing_key, body)

    async def declare_exchange(self, name: str) -> None:
        await self._inner.declare_exchange(name)

    async def declare_queue(self, name: str) -> None:
        await self._inner.declare_queue(name)

    async def delete_queue(self, name: str) -> None:
        await self._inner.delete_queue(name)

    async def bind(self, queue: str, exchange: str, routing_key: str) -> None:
        await self._inner.bind(queue, exchange, routing_key)

    async def unbind(self, queue: str, exchange: str, routing_key: str) -> None:
        await self._inner.unbind(queue, exchange, routing_key)

    def consume(self, queue: str) -> AsyncIterator[bytes]:
        return self._inner.consume(queue)

    def statistics(self) -> TransportStatistics:
        return self._inner.statistics()

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._inner.on_reconnect(callback)

    async def close(self) -> None:
        await self._inner.close()


# -- the platform, composed as `roboconf dm` does, with the recording plug-in -------------------


@asynccontextmanager
async def platform_of(
    messaging: MessagingSettings | None, shared: bool, recorder: Recorder, data_dir: Path
) -> AsyncIterator[DmService]:
    """A DM service and its in-memory agents over RabbitMQ (``messaging``) or, when None, the
    embedded router."""
    domain = messaging.domain if messaging else "default"
    if messaging is None:
        inner: Transport = EmbeddedRouter()
    else:
        inner = await connect_rabbitmq(messaging, name="bench p3 dm")
    transport = RecordingTransport(inner, recorder, domain)
    plugin = RecordingPlugin(recorder)

    async def run_agent(identity: MachineIdentity, definition: TargetDefinition) -> None:
        own: Transport | None = None
        if messaging is not None and not shared:
            connection = await connect_rabbitmq(
                messaging, name=f"bench p3 agent {identity.scoped_path}"
            )
            own = RecordingTransport(connection, recorder, domain)
        settings = AgentSettings(
            data_dir=data_dir / "agents",
            domain=identity.domain,
            heartbeat_period_s=5.0,
            check_period_s=0,
            simulate=True,
        )
        agent = Agent(
            own or transport,
            application=identity.application,
            scoped_path=identity.scoped_path,
            settings=settings,
            plugins=lambda _installer: plugin,
        )
        try:
            await agent.run()
        finally:
            if own is not None:
                await own.close()

    settings = ServiceSettings(
        data_dir=data_dir,
        database="memory://",
        dm=DmSettings(domain=domain, heartbeat_period_s=5.0),
        default_target=IN_MEMORY,
    )
    try:
        async with InMemoryHandler(run_agent) as handler:
            service = DmService(settings, transport, {handler.handler_id: handler})
            async with service:
                yield service
    finally:
        await transport.close()


async def joins(
    messaging: MessagingSettings | None,
    *,
    shared: bool,
    machines: int,
    count: int,
    warm_up: int,
    timeout_s: float,
) -> dict[str, Any]:
    recorder = Recorder()
    lost = 0
    with (
        template(files(machines)) as root,
        tempfile.TemporaryDirectory(prefix="roboconf-bench-p3-") as data,
    ):
        async with platform_of(messaging, shared, recorder, Path(data)) as service:
            dm = service.dm
            loaded = await service.load_template_from(str(root))
            await service.create_application(APPLICATION, loaded.name, loaded.version)
            await service.bulk(APPLICATION, "deploy-and-start-all", None, None)
            application = dm.application(APPLICATION)
            if not await dm.wait_until(APPLICATION, lambda a: a.all_in(STARTED), timeout_s):
                raise SystemExit("the initial application did not start")
            measured: list[str] = []
            for index in range(warm_up + count):
                machine = f"/app vm {index % machines}"
                path = f"{machine}/server {index + 1}"
                waiting = recorder.expect(path)
                await service.add_instance(APPLICATION, machine, "AppServer", f"server {index + 1}")
                await service.request_state(APPLICATION, path, STARTED)
                try:
                    async with asyncio.timeout(timeout_s):
                        await waiting.wait()
                except TimeoutError:
                    lost += 1
                    continue
                if index >= warm_up:
                    measured.append(path)
            balancer = application.get(BALANCER).status
            await service.bulk(APPLICATION, "undeploy-all", None, None)
            await dm.wait_until(APPLICATION, lambda a: a.all_in(NOT_DEPLOYED), timeout_s)
    recorder.decode_publishes()
    started_to_update = [recorder.updated[p] - recorder.started[p] for p in measured]
    published_to_update = [
        recorder.updated[p] - recorder.published[p] for p in measured if p in recorder.published
    ]
    return {
        "joins": len(measured),
        "lost": lost,
        "balancer_status": balancer.value,
        "started_to_update": percentiles(started_to_update),
        "published_to_update": percentiles(published_to_update),
        "started_to_update_samples_ms": [round(1000 * s, 3) for s in started_to_update],
    }


def report(label: str, figure: dict[str, Any]) -> None:
    a, b = figure["started_to_update"], figure["published_to_update"]
    print(
        f"  {label}: {figure['joins']} joins ({figure['lost']} lost); started → update "
        f"p50 {a['p50_ms']:.2f} ms, p95 {a['p95_ms']:.2f}, p99 {a['p99_ms']:.2f}, "
        f"max {a['max_ms']:.2f}; published → update p50 {b['p50_ms']:.2f} ms, "
        f"p99 {b['p99_ms']:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--joins", type=int, default=200, help="app servers added and measured")
    parser.add_argument("--warm-up", type=int, default=10, help="joins before measuring")
    parser.add_argument("--machines", type=int, default=4, help="machines the servers go on")
    parser.add_argument("--url", default=DEFAULT_URL, help="the RabbitMQ broker")
    parser.add_argument(
        "--shared-connection",
        action="store_true",
        help="agents share the DM's connection (as in-memory agents of roboconf dm do)",
    )
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--timeout", type=float, default=30.0, help="per join and phase (s)")
    parser.add_argument("--json", dest="json_path", help="also write the figures to this file")
    args = parser.parse_args()

    machine = machine_info()
    print(f"machine: {machine}")
    domain = unique_domain("p3")
    settings = rabbit(args.url, domain)
    print(
        f"P3: {args.joins} app servers join one by one ({args.warm_up} more first, not "
        f"counted), {args.machines} machines, balancer importing AppServer.*"
    )
    common = {
        "machines": args.machines,
        "count": args.joins,
        "warm_up": args.warm_up,
        "timeout_s": args.timeout,
    }
    try:
        over_rabbit = asyncio.run(joins(settings, shared=args.shared_connection, **common))
    finally:
        asyncio.run(purge_domain(args.url, domain))
    report("RabbitMQ", over_rabbit)
    figures: dict[str, Any] = {
        "benchmark": "P3 reconfiguration latency",
        "machine": machine,
        "connections": "shared with the DM" if args.shared_connection else "one per agent",
        "rabbitmq": over_rabbit,
    }
    if not args.skip_embedded:
        embedded = asyncio.run(joins(None, shared=True, **common))
        report("embedded", embedded)
        figures["embedded"] = embedded
    latency = over_rabbit["started_to_update"]
    met = latency["p50_ms"] <= P50_TARGET_MS and latency["p99_ms"] <= P99_TARGET_MS
    met = met and over_rabbit["joins"] >= 200 and not over_rabbit["lost"]
    figures["target"] = {"p50_ms": P50_TARGET_MS, "p99_ms": P99_TARGET_MS}
    figures["meets_target"] = met
    print(
        f"P3 over RabbitMQ: p50 {latency['p50_ms']:.2f} ms, p99 {latency['p99_ms']:.2f} ms "
        f"(target p50 ≤ {P50_TARGET_MS:g} ms, p99 ≤ {P99_TARGET_MS:g} ms: "
        f"{'met' if met else 'MISSED'})"
    )
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as sink:
            json.dump(figures, sink, indent=2)


if __name__ == "__main__":
    main()
