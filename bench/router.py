"""Throughput of the embedded messaging: routing, fan-out and the codec.

With Q agent queues (default 1,000), each bound to its machine key and to the imports of one of
ten prefixes, measures as the median of several runs:

- point-to-point: messages/s from the DM to random machines, published and consumed;
- fan-out: deliveries/s of exports published to the importers of a prefix (Q/10 each);
- codec: AddImport messages/s encoded and decoded;
- wildcard matching: routing keys/s matched against Q pattern bindings.

    python bench/router.py [--queues 1000] [--messages 100000] [--runs 5] [--json results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from roboconf.messaging import topology
from roboconf.messaging.codec import decode, encode
from roboconf.messaging.embedded import EmbeddedRouter
from roboconf.messaging.messages import AddImport, ChangeInstanceState
from roboconf.messaging.routing import TopicBindings
from roboconf.model.types import InstanceStatus

APP = "bench"
PREFIXES = [f"Prefix{i}" for i in range(10)]


async def build(queues: int) -> tuple[EmbeddedRouter, str, list[str]]:
    router = EmbeddedRouter()
    exchange = topology.agents_exchange(APP)
    await router.declare_exchange(exchange)
    names = []
    for index in range(queues):
        path = f"/vm {index}"
        queue = topology.agent_queue(APP, path)
        await router.declare_queue(queue)
        await router.bind(queue, exchange, topology.machine_key(path))
        await router.bind(queue, exchange, topology.importers_key(PREFIXES[index % 10]))
        names.append(queue)
    return router, exchange, names


async def drain(router: EmbeddedRouter, queues: list[str]) -> int:
    """Consume what waits in every queue, as consumers would."""
    total = 0
    for queue in queues:
        pending = router.depth(queue)
        if pending:
            consumer = router.consume(queue)
            for _ in range(pending):
                decode(await anext(consumer))
            total += pending
    return total


async def point_to_point(queues: int, messages: int) -> float:
    router, exchange, names = await build(queues)
    keys = [topology.machine_key(f"/vm {random.randrange(queues)}") for _ in range(messages)]
    body = encode(ChangeInstanceState(path="/vm/x", requested=InstanceStatus.DEPLOYED_STARTED))
    start = time.perf_counter()
    for key in keys:
        await router.publish(exchange, key, body)
    assert await drain(router, names) == messages
    return messages / (time.perf_counter() - start)


async def fan_out(queues: int, messages: int) -> float:
    router, exchange, names = await build(queues)
    publishes = max(1, messages // (queues // 10 or 1))
    body = encode(
        AddImport(
            application=APP,
            prefix="Prefix0",
            exporter_path="/vm 0/app",
            component="Prefix0",
            values={"Prefix0.ip": "10.0.0.1", "Prefix0.port": "8080"},
        )
    )
    keys = [topology.importers_key(random.choice(PREFIXES)) for _ in range(publishes)]
    start = time.perf_counter()
    for key in keys:
        await router.publish(exchange, key, body)
    delivered = await drain(router, names)
    return delivered / (time.perf_counter() - start)


def codec(messages: int) -> float:
    message = AddImport(
        application=APP,
        prefix="Tomcat",
        exporter_path="/vm 12/tomcat",
        component="Tomcat",
        values={"Tomcat.ip": "10.0.0.12", "Tomcat.portAJP": "8009", "Tomcat.portHTTP": "8080"},
    )
    start = time.perf_counter()
    for _ in range(messages):
        decode(encode(message))
    return messages / (time.perf_counter() - start)


def wildcards(queues: int, messages: int) -> float:
    table = TopicBindings()
    for index in range(queues):
        table.add(f"those.that.*.Prefix{index}.#", f"q{index}")
    keys = [f"those.that.import.Prefix{random.randrange(queues)}.x" for _ in range(messages)]
    start = time.perf_counter()
    for key in keys:
        table.match(key)
    return messages / (time.perf_counter() - start)


def median_rate(measure: Callable[[], float], runs: int) -> int:
    return round(statistics.median(measure() for _ in range(runs)))


def run(coroutine: Callable[[], Coroutine[Any, Any, float]]) -> Callable[[], float]:
    return lambda: asyncio.run(coroutine())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queues", type=int, default=1_000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", dest="json_path", help="also write the figures to this file")
    args = parser.parse_args()
    random.seed(1)
    queues, messages = args.queues, args.messages
    figures = {
        "benchmark": "embedded messaging throughput",
        "queues": queues,
        "messages": messages,
        "runs": args.runs,
        "point_to_point_msgs_per_s": median_rate(
            run(lambda: point_to_point(queues, messages)), args.runs
        ),
        "fan_out_deliveries_per_s": median_rate(run(lambda: fan_out(queues, messages)), args.runs),
        "codec_round_trips_per_s": median_rate(lambda: codec(messages // 2), args.runs),
        "wildcard_matches_per_s": median_rate(lambda: wildcards(queues, messages // 10), args.runs),
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
    }
    for key, value in figures.items():
        print(f"{key:>26}: {value}")
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as sink:
            json.dump(figures, sink, indent=2)


if __name__ == "__main__":
    main()
