"""What the benchmarks share: the machine they ran on, templates written to a temporary folder,
free ports, latency percentiles, and, for those on a broker (P3, P5, P7), domains of their own
and their clean-up. Imported as ``common`` (the benchmarks run as scripts of this folder)."""

from __future__ import annotations

import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aio_pika

from roboconf.messaging import topology
from roboconf.messaging.settings import MessagingSettings, messaging_settings

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/"


def machine_info() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def unique_domain(what: str) -> str:
    """A messaging domain no other run uses: nothing of this run meets anyone else's."""
    return f"bench-{what}-{os.getpid()}-{time.time_ns() // 1_000_000}"


def rabbit(url: str, domain: str) -> MessagingSettings:
    return messaging_settings(
        {"messaging.type": "rabbitmq", "rabbitmq.url": url, "messaging.domain": domain}
    )


def descriptor(name: str) -> str:
    """The descriptor of a generated template whose entry points are ``main.graph`` and
    ``model.instances``."""
    return (
        f"name = {name}\nversion = 1.0.0\n"
        "graph-entry-point = main.graph\ninstance-entry-point = model.instances\n"
    )


def write_files(root: Path, files: Mapping[str, str]) -> None:
    """Relative path → text under ``root``; scripts (``.sh``) executable."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if path.suffix == ".sh":
            path.chmod(0o755)


@contextmanager
def template(files: Mapping[str, str]) -> Iterator[Path]:
    """``files`` written in a temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="roboconf-bench-") as folder:
        root = Path(folder)
        write_files(root, files)
        yield root


def _broker_names(kind: str) -> list[str]:
    """Names of the broker's queues or exchanges (``rabbitmqctl``; [] when it cannot run)."""
    if shutil.which("rabbitmqctl") is None:
        return []
    try:
        listed = subprocess.run(
            ["rabbitmqctl", "-q", f"list_{kind}", "name"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in listed.stdout.splitlines()[1:] if line.strip()]


async def purge_domain(url: str, domain: str, known_queues: Sequence[str] = ()) -> int:
    """Delete every queue and exchange of ``domain`` on the broker (those ``rabbitmqctl``
    lists, and ``known_queues``); returns how many queues were deleted."""
    start = f"{topology.escape(domain)}."
    queues = {q for q in _broker_names("queues") if q.startswith(start)} | set(known_queues)
    exchanges = [e for e in _broker_names("exchanges") if e.startswith(start)]
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        for queue in sorted(queues):
            await channel.queue_delete(queue)
        for exchange in exchanges:
            await channel.exchange_delete(exchange)
    finally:
        await connection.close()
    return len(queues)


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99 and max of samples in seconds, in milliseconds."""
    if len(samples) < 2:
        only = 1000 * samples[0] if samples else float("nan")
        return {"p50_ms": only, "p95_ms": only, "p99_ms": only, "max_ms": only}
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "p50_ms": round(1000 * statistics.median(samples), 3),
        "p95_ms": round(1000 * cuts[94], 3),
        "p99_ms": round(1000 * cuts[98], 3),
        "max_ms": round(1000 * max(samples), 3),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
