"""Latency of the DM's REST API reads: p50, p95 and p99 of two GETs over a real server.

Starts ``roboconf dm --simulate`` (a separate process: SQLite in a temporary folder, embedded
router, in-memory target), uploads a generated template of M machines each holding a server
and an app under it (3 × M instances, 120 by default), deploys and starts it all (simulated
plug-ins), then times, one request after the other on one keep-alive connection, after a warm-up:

- ``GET /api/v1/applications/{app}/instances`` (the whole list), N times;
- ``GET /api/v1/applications/{app}/instance?path=...`` (one instance, paths drawn at random
  with a fixed seed), N times.

    python bench/api_latency.py [--machines 40] [--requests 1000] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from common import free_port, machine_info

APPLICATION = "latency"
WARM_UP = 50
PATIENCE_S = 60.0

GRAPH = """\
VM {
\tinstaller: target;
\tchildren: Server;
}

Server {
\tinstaller: script;
\texports: ip, port = 8080;
\tchildren: App;
}

App {
\tinstaller: script;
\texports: context = /app;
\timports: Server.ip, Server.port;
}
"""

INSTANCES = """\
instance of VM {
\tname: vm;
\tcount: {machines};
\tinstance of Server {
\t\tname: server;
\t\tinstance of App {
\t\t\tname: app;
\t\t}
\t}
}
"""

DESCRIPTOR = """\
name = latency
version = 1.0
graph-entry-point = main.graph
instance-entry-point = main.instances
"""


def template(machines: int) -> bytes:
    """The template, zipped in memory."""
    files = {
        "descriptor/application.properties": DESCRIPTOR,
        "graph/main.graph": GRAPH,
        "instances/main.instances": INSTANCES.replace("{machines}", str(machines)),
        "graph/VM/target.properties": "id = simulated\nhandler = in-memory\n",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@contextlib.contextmanager
def dm_server(data_dir: Path) -> Iterator[str]:
    """``roboconf dm`` in a child process until the block ends; yields the API's root URL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "roboconf",
        "dm",
        "--simulate",
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command)
    api = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + PATIENCE_S
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{api}/health").status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"roboconf dm did not start (exit code {process.poll()})")
            time.sleep(0.1)
        yield api
    finally:
        process.terminate()
        try:
            process.wait(PATIENCE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def deploy(client: httpx.Client, machines: int) -> list[str]:
    """Upload, create, deploy and start all; the instance paths once all are started."""
    answer = client.post("/templates", files={"file": ("latency.zip", template(machines))})
    answer.raise_for_status()
    body = {"name": APPLICATION, "template": "latency", "version": "1.0"}
    client.post("/applications", json=body).raise_for_status()
    client.post(f"/applications/{APPLICATION}/deploy-and-start-all").raise_for_status()
    deadline = time.monotonic() + PATIENCE_S
    while True:
        instances = client.get(f"/applications/{APPLICATION}/instances").json()
        if all(i["status"] == "DEPLOYED_STARTED" for i in instances):
            return [i["path"] for i in instances]
        if time.monotonic() > deadline:
            raise RuntimeError(f"not all started after {PATIENCE_S} s")
        time.sleep(0.1)


def timed(client: httpx.Client, requests: list[tuple[str, dict[str, str]]]) -> list[float]:
    """Milliseconds of each request, in order (each must answer 200)."""
    found: list[float] = []
    for url, params in requests:
        started = time.perf_counter()
        answer = client.get(url, params=params)
        elapsed = time.perf_counter() - started
        if answer.status_code != 200:
            raise RuntimeError(f"GET {url} {params}: {answer.status_code} {answer.text}")
        found.append(elapsed * 1000)
    return found


def summary(milliseconds: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(milliseconds, n=100, method="inclusive")
    return {
        "requests": len(milliseconds),
        "p50_ms": round(cuts[49], 3),
        "p95_ms": round(cuts[94], 3),
        "p99_ms": round(cuts[98], 3),
        "max_ms": round(max(milliseconds), 3),
    }


def measure(api: str, machines: int, count: int) -> dict[str, Any]:
    with httpx.Client(base_url=api, timeout=PATIENCE_S) as client:
        paths = deploy(client, machines)
        every = f"/applications/{APPLICATION}/instances"
        one = f"/applications/{APPLICATION}/instance"
        draw = random.Random(4)
        timed(client, [(every, {})] * WARM_UP)
        listing = timed(client, [(every, {})] * count)
        timed(client, [(one, {"path": draw.choice(paths)}) for _ in range(WARM_UP)])
        single = timed(client, [(one, {"path": draw.choice(paths)}) for _ in range(count)])
    return {
        "instances": len(paths),
        "list_instances": summary(listing),
        "one_instance": summary(single),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=40, help="3 instances per machine")
    parser.add_argument("--requests", type=int, default=1000, help="timed GETs of each kind")
    parser.add_argument("--json", dest="json_path", help="also write the figures to this file")
    args = parser.parse_args()

    machine = machine_info()
    print(f"machine: {machine}")
    with (
        tempfile.TemporaryDirectory(prefix="roboconf-latency-") as folder,
        dm_server(Path(folder)) as api,
    ):
        figures = measure(api, args.machines, args.requests)
    print(f"application of {figures['instances']} instances, {args.requests} GETs each:")
    for name in ("list_instances", "one_instance"):
        figure = figures[name]
        print(
            f"  {name:>15}: p50 {figure['p50_ms']:.2f} ms, p95 {figure['p95_ms']:.2f} ms, "
            f"p99 {figure['p99_ms']:.2f} ms, max {figure['max_ms']:.2f} ms"
        )
    if args.json_path:
        result = {"benchmark": "REST API read latency", "machine": machine, **figures}
        Path(args.json_path).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
