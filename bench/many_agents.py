"""P5 of 80-quality.md: one DM with 2,000 agents over RabbitMQ, heartbeats every 5 s.

Three kinds of processes, all started by this script (one file, three roles):

- **the DM** (``many_agents.py dm``): a ``DmService`` as ``roboconf dm --messaging rabbitmq``
  composes it (SQLite in a temporary folder), with one target handler of this benchmark,
  ``hand-started``, whose machines are created by nobody: ``create_machine`` only names them,
  and the DM waits for their agents' first heartbeat (the spec's ``embedded`` handler without
  ``embedded.ip``, which src/ does not have yet). It loads a generated template of N machines
  each holding one instance, requests *deploy and start all*, and serves the REST API
  (``serve_until_signalled``) until SIGTERM;
- **agent processes** (``many_agents.py agents``): a few processes (4 by default) of N / 4
  agents each, all agents of a process sharing ONE RabbitMQ connection; simulated plug-ins,
  heartbeats every 5 s, no health checks; each agent starts at a random moment of the first
  heartbeat period (machines do not boot in lockstep);
- **this script**, which waits until every machine and instance is DEPLOYED_STARTED (from the
  DM's ``/metrics``), lets one heartbeat period pass, then measures over a steady window
  (``--window``, 30 s by default): the DM process's CPU (utime + stime from ``/proc/<pid>/stat``,
  in % of one core), its RSS (``VmRSS``, sampled every second), and the latency of
  ``GET /api/v1/applications/{app}/instance?path=…`` (random paths, ``--rate`` per second, one
  keep-alive connection). Messages per second are counted by the processes themselves (each
  writes its transport's counters every second): published by agents and DM, consumed by the DM.

Everything is stopped and the domain's queues and exchanges are deleted at the end.

    python bench/many_agents.py [--agents 2000] [--processes 4] [--window 30] [--rate 20]
                                [--url amqp://guest:guest@127.0.0.1:5672/] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aio_pika
import httpx
from common import (
    DEFAULT_URL,
    descriptor,
    free_port,
    machine_info,
    percentiles,
    purge_domain,
    rabbit,
    template,
    unique_domain,
)

from roboconf.messaging import topology
from roboconf.messaging.transport import Transport
from roboconf.targets.base import MachineIdentity, TargetDefinition

APPLICATION = "p5"
API_P99_TARGET_MS = 200.0
RSS_TARGET_MB = 1024.0
HANDLER = "hand-started"
#: what the DM logs when it does not hear its own echo through the broker
DEAF = "hears nothing through the messaging server"
HAND_STARTED = TargetDefinition(
    id=HANDLER,
    handler=HANDLER,
    name=HANDLER,
    description="machines whose agents someone else starts",
    properties={"id": HANDLER, "handler": HANDLER},
)

GRAPH = """\
# Generated for the P5 benchmark.
VM {
\tinstaller: target;
\tchildren: Service;
}

Service {
\tinstaller: script;
\texports: ip, port = 8080;
}
"""


def files(machines: int) -> dict[str, str]:
    lines: list[str] = []
    for index in range(machines):
        lines += ["instance of VM {", f"\tname: vm {index};", "\tinstance of Service {"]
        lines += ["\t\tname: service;", "\t}", "}"]
    return {
        "descriptor/application.properties": descriptor("p5"),
        "graph/main.graph": GRAPH,
        "instances/model.instances": "\n".join(lines) + "\n",
        "graph/Service/.keep": "",
    }


async def write_statistics(transport: Transport, path: Path) -> None:
    """Every second, the transport's counters (and when) in ``path``, for the orchestrator."""
    while True:
        stats = transport.statistics()
        record = {"time": time.time(), "published": stats.published, "consumed": stats.consumed}
        path.with_suffix(".tmp").write_text(json.dumps(record))
        path.with_suffix(".tmp").replace(path)
        await asyncio.sleep(1.0)


# -- role: the DM ------------------------------------------------------------------------------


class HandStartedHandler:
    """Machines that someone else starts: the DM names them and waits for their agents."""

    handler_id = HANDLER

    async def create_machine(self, target: TargetDefinition, identity: MachineIdentity) -> str:
        return f"{HANDLER}:{identity.application}:{identity.scoped_path}"

    async def configure_machine(
        self, target: TargetDefinition, machine_id: str, identity: MachineIdentity
    ) -> None:
        """Nothing to configure: the agent was given its identity by whoever started it."""

    async def is_machine_running(self, target: TargetDefinition, machine_id: str) -> bool:
        return True

    async def terminate_machine(self, target: TargetDefinition, machine_id: str) -> None:
        """Nobody to stop here: the agent's owner stops it."""

    async def public_ip(self, target: TargetDefinition, machine_id: str) -> str | None:
        return None


async def run_dm(args: argparse.Namespace) -> int:
    from roboconf.cli.serving import serve_until_signalled
    from roboconf.dm.manager import DmSettings
    from roboconf.dm.service import DmService, ServiceSettings
    from roboconf.messaging.connect import dm_transport

    settings = rabbit(args.url, args.domain)
    transport = await dm_transport(settings)
    data_dir = Path(args.data_dir)
    service_settings = ServiceSettings(
        data_dir=data_dir,
        database="memory://" if args.database == "memory" else None,
        dm=DmSettings(
            domain=args.domain,
            heartbeat_period_s=args.heartbeat,
            boot_timeout_s=600.0,
            messaging=settings.as_properties(),
        ),
        default_target=HAND_STARTED,
    )
    handler = HandStartedHandler()
    try:
        async with DmService(service_settings, transport, {HANDLER: handler}) as service:
            loaded = await service.load_template_from(args.template)
            await service.create_application(APPLICATION, loaded.name, loaded.version)
            await service.bulk(APPLICATION, "deploy-and-start-all", None, None)
            writer = asyncio.create_task(write_statistics(transport, data_dir / "dm-stats.json"))
            try:
                started = await serve_until_signalled(service, "127.0.0.1", args.port, "warning")
            finally:
                writer.cancel()
                await asyncio.gather(writer, return_exceptions=True)
            return 0 if started else 1
    finally:
        await transport.close()


# -- role: agents ------------------------------------------------------------------------------


async def run_agents(args: argparse.Namespace) -> int:
    from roboconf.agent.agent import Agent, AgentSettings
    from roboconf.messaging.rabbitmq import connect_rabbitmq

    first, last = (int(n) for n in args.slice.split(":"))
    settings = rabbit(args.url, args.domain)
    transport = await connect_rabbitmq(settings, name=f"bench p5 agents {first}-{last}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    agent_settings = AgentSettings(
        data_dir=Path(args.data_dir) / f"agents-{first}",
        domain=args.domain,
        heartbeat_period_s=args.heartbeat,
        check_period_s=0,
        simulate=True,
    )
    rng = random.Random(first)

    async def one(index: int) -> None:
        await asyncio.sleep(rng.uniform(0, args.spread))
        agent = Agent(
            transport,
            application=APPLICATION,
            scoped_path=f"/vm {index}",
            settings=agent_settings,
        )
        await agent.run()

    stats = Path(args.data_dir) / f"agents-{first}-stats.json"
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(i)) for i in range(first, last)]
            tasks.append(group.create_task(write_statistics(transport, stats)))
            await stop.wait()
            for task in tasks:
                task.cancel()
    finally:
        await transport.close()
    return 0


# -- role: the orchestrator ---------------------------------------------------------------------


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


_GAUGE = re.compile(r"^(roboconf_instances|roboconf_machines_up)\{([^}]*)\} ([0-9.e+]+)$", re.M)


def counts(client: httpx.Client) -> tuple[int, int]:
    """(instances DEPLOYED_STARTED, machines whose agent is up), from the DM's metrics."""
    text = client.get("/api/v1/metrics").text
    started = up = 0
    for name, labels, value in _GAUGE.findall(text):
        if name == "roboconf_machines_up":
            up = int(float(value))
        elif 'status="DEPLOYED_STARTED"' in labels:
            started = int(float(value))
    return started, up


#: messages waiting in the DM's queue below which it has caught up
SETTLED_BACKLOG = 50


def dm_backlog(url: str, domain: str) -> int:
    """Messages waiting in the DM's queue now (a passive declaration)."""

    async def depth() -> int:
        connection = await aio_pika.connect(url)
        try:
            channel = await connection.channel()
            queue = await channel.declare_queue(topology.dm_queue(domain), passive=True)
            return int(queue.declaration_result.message_count or 0)
        finally:
            await connection.close()

    return asyncio.run(depth())


def read_counters(data_dir: Path) -> dict[str, dict[str, float]]:
    found = {}
    for path in data_dir.glob("*-stats.json"):
        with contextlib.suppress(OSError, ValueError):
            found[path.name] = json.loads(path.read_text())
    return found


def rates(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]
) -> dict[str, float]:
    """Messages per second between two readings of every process's counters."""
    published = consumed_by_dm = 0.0
    agents_published = 0.0
    for name, end in after.items():
        start = before.get(name)
        if start is None or end["time"] <= start["time"]:
            continue
        span = end["time"] - start["time"]
        sent = (end["published"] - start["published"]) / span
        published += sent
        if name == "dm-stats.json":
            consumed_by_dm = (end["consumed"] - start["consumed"]) / span
        else:
            agents_published += sent
    return {
        "published_per_s": round(published, 1),
        "published_by_agents_per_s": round(agents_published, 1),
        "consumed_by_dm_per_s": round(consumed_by_dm, 1),
    }


def spawn(role: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, __file__, *role],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_all(processes: list[subprocess.Popen[bytes]], grace_s: float = 20.0) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure(args: argparse.Namespace) -> dict[str, Any]:
    domain = unique_domain("p5")
    port = free_port()
    processes: list[subprocess.Popen[bytes]] = []
    with (
        template(files(args.agents)) as root,
        tempfile.TemporaryDirectory(prefix="roboconf-bench-p5-") as folder,
    ):
        data_dir = Path(folder)
        common = ["--url", args.url, "--domain", domain, "--data-dir", folder]
        common += ["--heartbeat", str(args.heartbeat)]
        try:
            began = time.monotonic()
            role = ["dm", *common, "--template", str(root), "--port", str(port)]
            role += ["--database", args.database]
            if args.profile_dm:
                role += ["--profile", str(Path(args.profile_dm).resolve())]
            dm = spawn(role, data_dir / "dm.log")
            processes.append(dm)
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30.0)
            deadline = time.monotonic() + args.patience
            while True:
                if dm.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(
                        f"the DM did not start:\n{(data_dir / 'dm.log').read_text()[-3000:]}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"/api/v1/applications/{APPLICATION}").status_code == 200:
                        break
                time.sleep(0.2)
            print(f"  DM up (pid {dm.pid}) in {time.monotonic() - began:.1f} s; starting agents")
            agents_began = time.monotonic()
            size = -(-args.agents // args.processes)
            spread = args.boot_spread
            for first in range(0, args.agents, size):
                last = min(args.agents, first + size)
                role = [
                    "agents",
                    *common,
                    "--slice",
                    f"{first}:{last}",
                    "--spread",
                    str(spread),
                ]
                processes.append(spawn(role, data_dir / f"agents-{first}.log"))
            instances = 2 * args.agents
            started = up = 0
            next_progress = agents_began + 10.0
            while (started, up) != (instances, args.agents):
                if time.monotonic() > agents_began + args.patience:
                    raise SystemExit(
                        f"not all up in {args.patience:g} s: {started} started, {up} up"
                    )
                if any(p.poll() is not None for p in processes):
                    raise SystemExit("a process of the benchmark ended early; see its log")
                time.sleep(1.0)
                started, up = counts(client)
                if time.monotonic() >= next_progress:
                    next_progress += 10.0
                    elapsed = time.monotonic() - agents_began
                    print(f"    {elapsed:5.0f} s: {up} agents up, {started} instances started")
            ramp_s = time.monotonic() - agents_began
            print(
                f"  {up} agents up, {started} instances started "
                f"{ramp_s:.1f} s after the agents' start"
            )
            ramp_cpu = cpu_seconds(dm.pid)
            # Steady means the DM has caught up: its queue is (nearly) empty, and stays so for
            # one more heartbeat period.
            settled_at = time.monotonic()
            backlog = dm_backlog(args.url, domain)
            while backlog > SETTLED_BACKLOG and time.monotonic() < settled_at + args.patience:
                time.sleep(1.0)
                backlog = dm_backlog(args.url, domain)
            settle_s = time.monotonic() - settled_at
            print(f"  DM queue down to {backlog} messages {settle_s:.1f} s later")
            time.sleep(args.heartbeat)

            paths = [f"/vm {i}" for i in range(args.agents)] + [
                f"/vm {i}/service" for i in range(args.agents)
            ]
            rng = random.Random(5)
            url = f"/api/v1/applications/{APPLICATION}/instance"
            for _ in range(20):  # warm-up
                client.get(url, params={"path": rng.choice(paths)})
            latencies: list[float] = []
            rss: list[float] = []
            errors = 0
            counters_before = read_counters(data_dir)
            cpu_before, wall_before = cpu_seconds(dm.pid), time.monotonic()
            next_rss = wall_before
            interval = 1.0 / args.rate
            next_request = wall_before
            while (now := time.monotonic()) < wall_before + args.window:
                if now >= next_rss:
                    rss.append(rss_mb(dm.pid))
                    next_rss += 1.0
                if now < next_request:
                    time.sleep(min(next_request, next_rss) - now)
                    continue
                next_request += interval
                sent = time.perf_counter()
                response = client.get(url, params={"path": rng.choice(paths)})
                latencies.append(time.perf_counter() - sent)
                errors += response.status_code != 200
            cpu_after, wall_after = cpu_seconds(dm.pid), time.monotonic()
            counters_after = read_counters(data_dir)
            backlog_after = dm_backlog(args.url, domain)
            rss.append(rss_mb(dm.pid))
            final_started, final_up = counts(client)
            client.close()
        finally:
            stop_all(processes)
            asyncio.run(purge_domain(args.url, domain))
            log = (data_dir / "dm.log").read_text(errors="replace").splitlines()
            deaf = sum(DEAF in line for line in log)
            print(f"  the DM logged {deaf} times that it heard nothing through the broker")
            for line in [line for line in log if "WARNING" in line or "Error" in line][-5:]:
                print(f"    dm.log: {line[:200]}")
    api = percentiles(latencies)
    cpu_percent = 100 * (cpu_after - cpu_before) / (wall_after - wall_before)
    return {
        "agents": args.agents,
        "agent_processes": len(processes) - 1,
        "heartbeat_s": args.heartbeat,
        "ramp_up_s": round(ramp_s, 1),
        "dm_cpu_seconds_until_all_up": round(ramp_cpu, 1),
        "window_s": round(wall_after - wall_before, 1),
        "dm_cpu_percent_of_one_core": round(cpu_percent, 1),
        "dm_rss_mb_max": round(max(rss), 1),
        "dm_rss_mb_end": round(rss[-1], 1),
        "api_requests": len(latencies),
        "api_errors": errors,
        "api_rate_per_s": args.rate,
        "api": api,
        "messages": rates(counters_before, counters_after),
        "dm_deaf_episodes": deaf,
        "boot_spread_s": spread,
        "database": args.database,
        "settle_s": round(settle_s, 1),
        "dm_queue_at_window_end": backlog_after,
        "still_all_up_at_end": (final_started, final_up) == (instances, args.agents),
        "meets_target": api["p99_ms"] <= API_P99_TARGET_MS
        and max(rss) <= RSS_TARGET_MB
        and errors == 0
        and (final_started, final_up) == (instances, args.agents),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    roles = parser.add_subparsers(dest="role")
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=4, help="agent processes")
    parser.add_argument("--window", type=float, default=30.0, help="steady window (s)")
    parser.add_argument("--rate", type=float, default=20.0, help="API reads per second")
    parser.add_argument("--heartbeat", type=float, default=5.0, help="agents' period (s)")
    parser.add_argument("--url", default=DEFAULT_URL, help="the RabbitMQ broker")
    parser.add_argument("--patience", type=float, default=180.0, help="per phase (s)")
    parser.add_argument(
        "--database",
        choices=("sqlite", "memory"),
        default="sqlite",
        help="the DM's store: SQLite in a temporary folder (as roboconf dm) or in memory",
    )
    parser.add_argument(
        "--boot-spread",
        type=float,
        default=60.0,
        help="agents start at random moments over this many seconds",
    )
    parser.add_argument("--profile-dm", help="cProfile the DM process into this file")
    parser.add_argument("--json", dest="json_path", help="also write the figures to this file")
    for role in ("dm", "agents"):
        sub = roles.add_parser(role, help=f"(internal) run as the benchmark's {role}")
        sub.add_argument("--url", required=True)
        sub.add_argument("--domain", required=True)
        sub.add_argument("--data-dir", required=True)
        sub.add_argument("--heartbeat", type=float, required=True)
        if role == "dm":
            sub.add_argument("--template", required=True)
            sub.add_argument("--port", type=int, required=True)
            sub.add_argument("--profile", help="cProfile the DM into this file")
            sub.add_argument("--database", choices=("sqlite", "memory"), required=True)
        else:
            sub.add_argument("--slice", required=True, help="first:last agent indexes")
            sub.add_argument("--spread", type=float, required=True)
    args = parser.parse_args()
    if args.role is not None:
        logging.basicConfig(
            level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    if args.role == "dm":
        if not args.profile:
            raise SystemExit(asyncio.run(run_dm(args)))
        import cProfile

        profile = cProfile.Profile()

        async def profiled() -> int:
            async def dump_regularly() -> None:
                while True:
                    await asyncio.sleep(10.0)
                    profile.dump_stats(args.profile)  # stops the profiler...
                    profile.enable()  # ...which goes on

            dumper = asyncio.create_task(dump_regularly())
            try:
                return await run_dm(args)
            finally:
                dumper.cancel()

        profile.enable()
        raise SystemExit(asyncio.run(profiled()))
    if args.role == "agents":
        raise SystemExit(asyncio.run(run_agents(args)))

    machine = machine_info()
    print(f"machine: {machine}")
    print(
        f"P5: {args.agents} agents in {args.processes} processes over RabbitMQ, heartbeats every "
        f"{args.heartbeat:g} s, steady window {args.window:g} s, {args.rate:g} API reads/s"
    )
    figure = measure(args)
    api = figure["api"]
    print(
        f"  DM CPU {figure['dm_cpu_percent_of_one_core']} % of one core, RSS "
        f"{figure['dm_rss_mb_max']} MB (max), API p50 {api['p50_ms']:.2f} ms, p99 "
        f"{api['p99_ms']:.2f} ms ({figure['api_requests']} reads, {figure['api_errors']} errors); "
        f"messages/s: {figure['messages']}"
    )
    print(
        f"P5 at {args.agents} agents: API p99 ≤ {API_P99_TARGET_MS:g} ms and RSS ≤ "
        f"{RSS_TARGET_MB:g} MB: {'met' if figure['meets_target'] else 'MISSED'}"
    )
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as sink:
            json.dump({"benchmark": "P5 many agents", "machine": machine, **figure}, sink, indent=2)


if __name__ == "__main__":
    main()
