"""P7 of 80-quality.md: failure detection, from an agent killed to its importers updated.

Two machines of the ``local`` target (one ``roboconf agent`` process each) over RabbitMQ, with a
DM composed as ``roboconf dm --target local --messaging rabbitmq`` composes it (in this
process): ``/provider vm`` holds an app server (exports ``AppServer.ip``, ``.port``);
``/importer vm`` holds a balancer that imports them (mandatory: it goes UNRESOLVED, its ``stop``
recipe runs) and a monitor that imports them as optional (its ``update`` recipe runs). Once
everything is started, after a random delay (so the kill falls anywhere in a heartbeat period),
the provider's agent process is killed (SIGKILL; its pid is in the machine id,
``local:<pid>:<start>``). Measured from the kill (``time.time()``), until:

- **problem**: the DM announces the machine PROBLEM (the DM's change events, in this process);
- **withdrawn**: the ``RemoveImport`` of the app server reaches the broker's importers (a queue
  of this script bound like an importer's, on its own connection);
- **unresolved**: the DM announces the balancer UNRESOLVED (reported by the importer's agent);
- **update** / **stop**: the monitor's ``update`` recipe (provider removed) and the balancer's
  ``stop`` recipe start (they write ``date +%s.%N``, the same clock, to a file).

Then everything is undeployed, and the next repetition deploys it again. Repeated at a 1 s
heartbeat period and at the default 5 s (3 missed heartbeats both times); medians.

    python bench/detection.py [--periods 1,5] [--runs 5] [--runs-slow 3]
                              [--url amqp://guest:guest@127.0.0.1:5672/] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aio_pika
from common import (
    DEFAULT_URL,
    descriptor,
    machine_info,
    purge_domain,
    rabbit,
    template,
    unique_domain,
)

from roboconf.cli.embedded import EmbeddedOptions, embedded_service
from roboconf.dm.manager import DmEvent
from roboconf.dm.service import DmService
from roboconf.messaging import topology
from roboconf.messaging.codec import decode
from roboconf.messaging.messages import RemoveImport
from roboconf.messaging.settings import MessagingSettings
from roboconf.model import InstanceStatus

STARTED = InstanceStatus.DEPLOYED_STARTED
NOT_DEPLOYED = InstanceStatus.NOT_DEPLOYED
PROBLEM = InstanceStatus.PROBLEM
UNRESOLVED = InstanceStatus.UNRESOLVED
APPLICATION = "p7"
PROVIDER_VM = "/provider vm"
PROVIDER = f"{PROVIDER_VM}/server"
BALANCER = "/importer vm/balancer"
MISSED = 3
MOMENTS = ("problem", "withdrawn", "unresolved", "update", "stop")

GRAPH = """\
# Generated for the P7 benchmark.
VM {
\tinstaller: target;
\tchildren: AppServer, LoadBalancer, Monitor;
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

Monitor {
\tinstaller: script;
\timports: AppServer.ip (optional), AppServer.port (optional);
}
"""

INSTANCES = """\
instance of VM {
\tname: provider vm;
\tinstance of AppServer {
\t\tname: server;
\t}
}

instance of VM {
\tname: importer vm;
\tinstance of LoadBalancer {
\t\tname: balancer;
\t}
\tinstance of Monitor {
\t\tname: monitor;
\t}
}
"""


def files(stamps: Path) -> dict[str, str]:
    stamp = 'echo "$(date +%s.%N) $ROBOCONF_UPDATE_STATUS $ROBOCONF_IMPORT_CHANGED_INSTANCE_PATH"'
    return {
        "descriptor/application.properties": descriptor("p7"),
        "graph/main.graph": GRAPH,
        "instances/model.instances": INSTANCES,
        "graph/AppServer/.keep": "",
        "graph/Monitor/scripts/update.sh": f"#!/bin/sh\n{stamp} >> '{stamps}/update'\n",
        "graph/LoadBalancer/scripts/stop.sh": f"#!/bin/sh\n{stamp} >> '{stamps}/stop'\n",
    }


def stamped(path: Path, after: float, status: str | None = None) -> float | None:
    """The first time written to ``path`` after ``after`` (with ``status``, if given)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        words = line.split()
        if not words:
            continue
        moment = float(words[0])
        if moment >= after and (status is None or words[1:2] == [status]):
            return moment
    return None


class Observer:
    """What this script sees: the DM's events and the withdrawals on the broker."""

    def __init__(self) -> None:
        self.events: list[tuple[float, DmEvent]] = []
        self.withdrawals: list[float] = []

    def first_event(self, path: str, status: InstanceStatus, after: float) -> float | None:
        return next(
            (t for t, e in self.events if t >= after and e.path == path and e.status is status),
            None,
        )

    def first_withdrawal(self, after: float) -> float | None:
        return next((t for t in self.withdrawals if t >= after), None)

    async def follow(self, service: DmService) -> None:
        watched = service.dm.watch()
        try:
            while True:
                event = await watched.get()
                self.events.append((time.time(), event))
        finally:
            service.dm.unwatch(watched)

    async def listen(self, settings: MessagingSettings) -> aio_pika.abc.AbstractConnection:
        """A queue bound as an importer of ``AppServer`` (own connection), recording when the
        provider's withdrawal arrives."""
        connection = await aio_pika.connect(settings.url)
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        exchange = topology.agents_exchange(APPLICATION, settings.domain)
        await queue.bind(exchange, topology.importers_key("AppServer"))

        async def received(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            moment = time.time()
            decoded = decode(message.body)
            if isinstance(decoded, RemoveImport) and decoded.exporter_path == PROVIDER:
                self.withdrawals.append(moment)

        await queue.consume(received, no_ack=True)
        return connection


async def wait_for(check: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def period_runs(
    settings: MessagingSettings, period: float, runs: int, rng: random.Random, patience_s: float
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="roboconf-bench-p7-") as folder,
        template(files(Path(folder) / "stamps")) as root,
    ):
        stamps = Path(folder) / "stamps"
        stamps.mkdir()
        options = EmbeddedOptions(
            data_dir=Path(folder) / "dm",
            database="memory://",
            heartbeat_s=period,
            messaging=settings,
            default_target="local",
            environment=dict(os.environ),
        )
        async with embedded_service(options) as service:
            dm = service.dm
            loaded = await service.load_template_from(str(root))
            await service.create_application(APPLICATION, loaded.name, loaded.version)
            application = dm.application(APPLICATION)
            observer = Observer()
            connection = await observer.listen(settings)
            follower = asyncio.create_task(observer.follow(service))
            try:
                for run in range(runs):
                    await service.bulk(APPLICATION, "deploy-and-start-all", None, None)
                    if not await dm.wait_until(
                        APPLICATION, lambda a: a.all_in(STARTED), patience_s
                    ):
                        raise SystemExit(f"run {run}: the application did not start")
                    await asyncio.sleep(rng.uniform(0.5, 0.5 + period))
                    machine_id = application.get(PROVIDER_VM).machine_id or ""
                    pid = int(machine_id.split(":")[1])
                    killed = time.time()
                    os.kill(pid, signal.SIGKILL)

                    def moments(after: float = killed) -> dict[str, float | None]:
                        return {
                            "problem": observer.first_event(PROVIDER_VM, PROBLEM, after),
                            "withdrawn": observer.first_withdrawal(after),
                            "unresolved": observer.first_event(BALANCER, UNRESOLVED, after),
                            "update": stamped(stamps / "update", after, "DEPLOYED_STOPPED"),
                            "stop": stamped(stamps / "stop", after),
                        }

                    limit = period * MISSED + 1.0
                    await wait_for(
                        lambda: all(v is not None for v in moments().values()),
                        limit + patience_s,
                    )
                    seen = {
                        k: None if v is None else round(v - killed, 3) for k, v in moments().items()
                    }
                    results.append({"run": run, "killed_pid": pid, **seen})
                    print(
                        f"    period {period:g} s, run {run + 1}: "
                        + ", ".join(
                            f"{k} {v if v is None else f'{v:.2f} s'}" for k, v in seen.items()
                        )
                    )
                    await service.bulk(APPLICATION, "undeploy-all", None, None)
                    if not await dm.wait_until(
                        APPLICATION, lambda a: a.all_in(NOT_DEPLOYED), patience_s
                    ):
                        raise SystemExit(f"run {run}: the application was not undeployed")
            finally:
                follower.cancel()
                await asyncio.gather(follower, return_exceptions=True)
                await connection.close()
                await service.bulk(APPLICATION, "undeploy-all", None, None)
                await dm.wait_until(APPLICATION, lambda a: a.all_in(NOT_DEPLOYED), patience_s)
    return results


def summary(period: float, results: list[dict[str, Any]]) -> dict[str, Any]:
    limit = period * MISSED + 1.0
    medians: dict[str, float | None] = {}
    for moment in MOMENTS:
        values = [r[moment] for r in results if r[moment] is not None]
        medians[moment] = round(statistics.median(values), 3) if values else None
    worst = {
        moment: max((r[moment] for r in results if r[moment] is not None), default=None)
        for moment in MOMENTS
    }
    complete = all(all(r[m] is not None for m in MOMENTS) for r in results)
    last = max((v for v in worst.values() if v is not None), default=float("inf"))
    return {
        "heartbeat_s": period,
        "missed_heartbeats": MISSED,
        "runs": len(results),
        "median_s": medians,
        "max_s": worst,
        "target_s": limit,
        "all_observed": complete,
        "meets_target": complete and last <= limit,
        "samples": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--periods", default="1,5", help="heartbeat periods (s), comma-separated")
    parser.add_argument("--runs", type=int, default=5, help="repetitions at periods under 5 s")
    parser.add_argument("--runs-slow", type=int, default=3, help="repetitions at 5 s and more")
    parser.add_argument("--url", default=DEFAULT_URL, help="the RabbitMQ broker")
    parser.add_argument("--seed", type=int, default=7, help="of the random delays before kills")
    parser.add_argument("--patience", type=float, default=60.0, help="per phase (s)")
    parser.add_argument("--json", dest="json_path", help="also write the figures to this file")
    args = parser.parse_args()

    machine = machine_info()
    print(f"machine: {machine}")
    figures: dict[str, Any] = {
        "benchmark": "P7 failure detection",
        "machine": machine,
        "periods": [],
    }
    rng = random.Random(args.seed)
    for period in (float(p) for p in args.periods.split(",") if p):
        runs = args.runs if period < 5 else args.runs_slow
        print(f"P7 at a {period:g} s heartbeat period, {MISSED} missed: {runs} runs")
        domain = unique_domain("p7")
        try:
            results = asyncio.run(
                period_runs(rabbit(args.url, domain), period, runs, rng, args.patience)
            )
        finally:
            asyncio.run(purge_domain(args.url, domain))
        figure = summary(period, results)
        figures["periods"].append(figure)
        medians = figure["median_s"]
        print(
            "  medians from the kill: "
            + ", ".join(f"{k} {v} s" for k, v in medians.items())
            + f"; slowest {max(v for v in figure['max_s'].values() if v is not None):.2f} s "
            f"(target ≤ {figure['target_s']:g} s: {'met' if figure['meets_target'] else 'MISSED'})"
        )
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as sink:
            json.dump(figures, sink, indent=2)


if __name__ == "__main__":
    main()
