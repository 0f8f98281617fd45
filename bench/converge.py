"""P2 and P4 of 80-quality.md: how fast an application converges, and what orchestration costs.

P2, scale: a generated template of M machines (default 1,000), each holding an app server, the
web app under it (deployed once its parent runs) and a cache, plus one machine whose load
balancer imports every app server (``AppServer.ip``, ``AppServer.port``). Simulated plug-ins,
embedded messaging, the in-memory target (agents as tasks of this process), composed as
``roboconf run`` composes them. Timed from *deploy and start all* until every instance is
DEPLOYED_STARTED and the balancer's agent holds M providers of ``AppServer``. Prints the median
of several runs, the messages published and delivered by the router, and the curve per machine
at other sizes (the cost must grow linearly).

P4, overhead: a 3-tier application (Database ← AppServer ← LoadBalancer) whose real script
recipes only ``sleep`` (deploy and start), either one tier per machine or all on one machine.
Total time of *deploy and start all* minus the critical path of the recipes (the longest chain
of sleeps the dependencies impose) is what the orchestration costs.

    python bench/converge.py [--machines 1000] [--curve 100,1000,3000] [--runs 3]
                             [--step 0.2] [--json results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import descriptor, machine_info, template

from roboconf.agent.agent import Agent, AgentSettings
from roboconf.dm.application import Application
from roboconf.dm.manager import DeploymentManager, DmSettings
from roboconf.messaging.embedded import EmbeddedRouter
from roboconf.model import InstanceStatus
from roboconf.project.loader import load_template
from roboconf.targets.base import MachineIdentity, TargetDefinition
from roboconf.targets.in_memory import InMemoryHandler

STARTED = InstanceStatus.DEPLOYED_STARTED
NOT_DEPLOYED = InstanceStatus.NOT_DEPLOYED
P2_TARGET_S = 10.0
P4_TARGET_S = 0.5
BALANCER = "/balancer vm/balancer"

# -- templates -------------------------------------------------------------------------------

TARGET = """\
id = bench
handler = in-memory
in-memory.execute-real-recipes = {real}
"""

P2_GRAPH = """\
# Generated for the P2 benchmark.
VM {
\tinstaller: target;
\tchildren: AppServer, Cache, LoadBalancer;
}

AppServer {
\tinstaller: script;
\texports: ip, port = 8080;
\tchildren: WebApp;
}

WebApp {
\tinstaller: script;
\texports: context = /app;
}

Cache {
\tinstaller: script;
\texports: ip, port = 6379;
}

LoadBalancer {
\tinstaller: script;
\texports: ip, port = 80;
\timports: AppServer.ip, AppServer.port;
}
"""

P4_GRAPH = """\
# Generated for the P4 benchmark.
VM {
\tinstaller: target;
\tchildren: Database, AppServer, LoadBalancer;
}

Database {
\tinstaller: script;
\texports: ip, port = 5432;
}

AppServer {
\tinstaller: script;
\texports: ip, port = 8080;
\timports: Database.ip, Database.port;
}

LoadBalancer {
\tinstaller: script;
\texports: ip, port = 80;
\timports: AppServer.ip, AppServer.port;
}
"""

TIERS = ("Database", "AppServer", "LoadBalancer")


def p2_files(machines: int) -> dict[str, str]:
    lines = ["# Generated for the P2 benchmark.", ""]
    for index in range(machines):
        lines += [
            "instance of VM {",
            f"\tname: vm {index};",
            "\tinstance of AppServer {",
            "\t\tname: server;",
            "\t\tinstance of WebApp {",
            "\t\t\tname: app;",
            "\t\t}",
            "\t}",
            "\tinstance of Cache {",
            "\t\tname: cache;",
            "\t}",
            "}",
        ]
    lines += [
        "instance of VM {",
        "\tname: balancer vm;",
        "\tinstance of LoadBalancer {",
        "\t\tname: balancer;",
        "\t}",
        "}",
    ]
    files = {
        "descriptor/application.properties": descriptor("p2"),
        "graph/main.graph": P2_GRAPH,
        "graph/VM/target.properties": TARGET.format(real="false"),
        "instances/model.instances": "\n".join(lines) + "\n",
    }
    for component in ("AppServer", "WebApp", "Cache", "LoadBalancer"):
        files[f"graph/{component}/.keep"] = ""
    return files


def p4_files(step_s: float, one_machine: bool) -> dict[str, str]:
    if one_machine:
        lines = ["instance of VM {", "\tname: host;"]
        for tier in TIERS:
            lines += [f"\tinstance of {tier} {{", f"\t\tname: {tier.lower()};", "\t}"]
        lines.append("}")
    else:
        lines = []
        for tier in TIERS:
            lines += [
                "instance of VM {",
                f"\tname: {tier.lower()} vm;",
                f"\tinstance of {tier} {{",
                f"\t\tname: {tier.lower()};",
                "\t}",
                "}",
            ]
    files = {
        "descriptor/application.properties": descriptor("p4"),
        "graph/main.graph": P4_GRAPH,
        "graph/VM/target.properties": TARGET.format(real="true"),
        "instances/model.instances": "\n".join(lines) + "\n",
    }
    for tier in TIERS:
        for step in ("deploy", "start"):
            files[f"graph/{tier}/scripts/{step}.sh"] = f"#!/bin/sh\nsleep {step_s}\n"
    return files


def p4_critical_path(step_s: float, one_machine: bool) -> float:
    """The longest chain of recipe sleeps the dependencies impose.

    Deploying needs no import, so on separate machines the three deploys run together and each
    start waits for its provider's start: deploy + 3 starts. One agent runs its steps one after
    the other: all six steps.
    """
    return step_s * (6 if one_machine else 4)


# -- the embedded stack, as `roboconf run` composes it ----------------------------------------


@dataclass(slots=True)
class Stack:
    router: EmbeddedRouter
    dm: DeploymentManager
    application: Application
    agents: dict[str, Agent]


@asynccontextmanager
async def stack(root: Path, *, simulate: bool, heartbeat_s: float) -> AsyncIterator[Stack]:
    load = load_template(root)
    if not load.ok or load.template is None:
        errors = [d.render() for d in load.diagnostics if d.is_error]
        raise SystemExit(f"the generated template is invalid: {errors[:3]}")
    router = EmbeddedRouter()
    agents: dict[str, Agent] = {}
    with tempfile.TemporaryDirectory(prefix="roboconf-bench-data-") as data_dir:

        async def run_agent(identity: MachineIdentity, definition: TargetDefinition) -> None:
            real = definition.flag("in-memory.execute-real-recipes", default=True)
            settings = AgentSettings(
                data_dir=Path(data_dir),
                recipes_root=root / "graph",
                heartbeat_period_s=heartbeat_s,
                simulate=simulate or not real,
                environment=dict(os.environ),
            )
            agent = Agent(
                router,
                application=identity.application,
                scoped_path=identity.scoped_path,
                settings=settings,
            )
            agents[identity.scoped_path] = agent
            await agent.run()

        async with (
            InMemoryHandler(run_agent) as handler,
            DeploymentManager(
                router,
                {handler.handler_id: handler},
                settings=DmSettings(heartbeat_period_s=heartbeat_s),
            ) as dm,
        ):
            name = load.template.name or root.name
            application = await dm.create_application(name, load.template, root)
            yield Stack(router=router, dm=dm, application=application, agents=agents)


async def wait_for(
    dm: DeploymentManager,
    application: Application,
    status: InstanceStatus,
    extra: Callable[[], bool],
    timeout_s: float,
) -> bool:
    """Wait until every instance has ``status`` and ``extra()`` holds; counted from the DM's
    change events (cheap at any size), ``extra`` checked after them and every 10 ms."""
    events = dm.watch()
    try:
        statuses = {r.path: r.status for r in application}
        reached = sum(1 for s in statuses.values() if s is status)
        deadline = time.monotonic() + timeout_s
        while not (reached == len(statuses) and extra()):
            if time.monotonic() > deadline:
                return False
            try:
                async with asyncio.timeout(0.01):
                    event = await events.get()
            except TimeoutError:
                continue
            while True:
                before = statuses.get(event.path)
                if before is not None:
                    reached += (event.status is status) - (before is status)
                    statuses[event.path] = event.status
                if events.empty():
                    break
                event = events.get_nowait()
        return True
    finally:
        dm.unwatch(events)


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    converged: bool
    seconds: float
    published: int
    delivered: int
    instances: int
    #: AppServer providers the balancer's agent holds, and those the DM's record of it shows
    providers: int
    dm_providers: int
    undeploy_seconds: float
    undeployed: bool


async def deploy_and_start(
    root: Path,
    *,
    simulate: bool,
    heartbeat_s: float,
    timeout_s: float,
    balancer_providers: int = 0,
) -> Run:
    async with stack(root, simulate=simulate, heartbeat_s=heartbeat_s) as s:

        def providers() -> int:
            agent = s.agents.get(BALANCER.rsplit("/", 1)[0])
            record = agent.state.instances.get(BALANCER) if agent and agent.state else None
            return len(record.imports.get("AppServer", {})) if record else 0

        before = s.router.statistics()
        start = time.perf_counter()
        await s.dm.deploy_and_start_all(s.application.name)
        converged = await wait_for(
            s.dm,
            s.application,
            STARTED,
            lambda: providers() >= balancer_providers,
            timeout_s,
        )
        seconds = time.perf_counter() - start
        after = s.router.statistics()
        record = s.application.instances.get(BALANCER)
        dm_providers = len(record.imports.get("AppServer", [])) if record else 0
        if not converged:
            statuses: dict[str, int] = {}
            for record in s.application:
                statuses[record.status.value] = statuses.get(record.status.value, 0) + 1
            print(f"  not converged in {timeout_s:g} s: {statuses}, {providers()} providers")
        undeploy_start = time.perf_counter()
        await s.dm.undeploy_all(s.application.name)
        undeployed = await wait_for(s.dm, s.application, NOT_DEPLOYED, lambda: True, timeout_s)
        return Run(
            converged=converged,
            seconds=seconds,
            published=after.published - before.published,
            delivered=after.delivered - before.delivered,
            instances=len(s.application.instances),
            providers=providers() if balancer_providers else 0,
            dm_providers=dm_providers,
            undeploy_seconds=time.perf_counter() - undeploy_start,
            undeployed=undeployed,
        )


def repeat(runs: int, action: Callable[[], Run], budget_s: float = float("inf")) -> list[Run]:
    """``runs`` results; only one when that one took longer than ``budget_s``."""
    results = []
    for _ in range(runs):
        gc.collect()
        results.append(action())
        if results[-1].seconds > budget_s:
            break
    return results


def median(results: list[Run], key: Callable[[Run], float]) -> float:
    return statistics.median(key(r) for r in results)


# -- P2 ------------------------------------------------------------------------------------


def p2(
    machines: int, runs: int, heartbeat_s: float, timeout_s: float, budget_s: float
) -> dict[str, Any]:
    with template(p2_files(machines)) as root:
        results = repeat(
            runs,
            lambda: asyncio.run(
                deploy_and_start(
                    root,
                    simulate=True,
                    heartbeat_s=heartbeat_s,
                    timeout_s=timeout_s,
                    balancer_providers=machines,
                )
            ),
            budget_s,
        )
    seconds = median(results, lambda r: r.seconds)
    published = median(results, lambda r: r.published)
    delivered = median(results, lambda r: r.delivered)
    figure = {
        "machines": machines,
        "instances": results[0].instances,
        "runs": len(results),
        "all_converged": all(r.converged for r in results),
        "balancer_providers": min(r.providers for r in results),
        "dm_record_balancer_providers": min(r.dm_providers for r in results),
        "median_s": round(seconds, 3),
        "samples_s": [round(r.seconds, 3) for r in results],
        "messages_published": int(published),
        "messages_delivered": int(delivered),
        "ms_per_machine": round(1000 * seconds / machines, 3),
        "published_per_machine": round(published / machines, 2),
        "delivered_per_machine": round(delivered / machines, 2),
        "undeploy_median_s": round(median(results, lambda r: r.undeploy_seconds), 3),
        "all_undeployed": all(r.undeployed for r in results),
    }
    print(
        f"  {machines:>6} machines: {figure['median_s']:>8.3f} s "
        f"({figure['ms_per_machine']:.2f} ms/machine), "
        f"{figure['messages_published']} published ({figure['published_per_machine']}/machine), "
        f"{figure['messages_delivered']} delivered ({figure['delivered_per_machine']}/machine), "
        f"converged: {figure['all_converged']}, undeploy {figure['undeploy_median_s']} s"
    )
    return figure


# -- P4 ------------------------------------------------------------------------------------


def p4(step_s: float, one_machine: bool, runs: int, timeout_s: float) -> dict[str, Any]:
    with template(p4_files(step_s, one_machine)) as root:
        results = repeat(
            runs,
            lambda: asyncio.run(
                deploy_and_start(root, simulate=False, heartbeat_s=5.0, timeout_s=timeout_s)
            ),
        )
    seconds = median(results, lambda r: r.seconds)
    critical = p4_critical_path(step_s, one_machine)
    figure = {
        "layout": "one machine" if one_machine else "one machine per tier",
        "step_sleep_s": step_s,
        "runs": runs,
        "all_converged": all(r.converged for r in results),
        "median_total_s": round(seconds, 3),
        "samples_s": [round(r.seconds, 3) for r in results],
        "critical_path_s": round(critical, 3),
        "overhead_s": round(seconds - critical, 3),
        "messages_published": int(median(results, lambda r: r.published)),
        "target_overhead_s": P4_TARGET_S,
        "meets_target": seconds - critical <= P4_TARGET_S,
    }
    print(
        f"  {figure['layout']:>20}: total {figure['median_total_s']:.3f} s, critical path "
        f"{figure['critical_path_s']:.3f} s, overhead {figure['overhead_s']:.3f} s "
        f"(target ≤ {P4_TARGET_S} s: {'met' if figure['meets_target'] else 'MISSED'})"
    )
    return figure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=1000, help="P2 size")
    parser.add_argument(
        "--curve", default="100,1000,3000", help="P2 sizes of the curve (comma-separated)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--heartbeat", type=float, default=5.0, help="agents' period (s)")
    parser.add_argument("--step", type=float, default=0.2, help="P4: each recipe's sleep (s)")
    parser.add_argument("--timeout", type=float, default=600.0, help="per run (s)")
    parser.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="P2: a size whose run takes longer is run once, and larger sizes are skipped",
    )
    parser.add_argument("--skip-p2", action="store_true")
    parser.add_argument("--skip-p4", action="store_true")
    parser.add_argument("--json", dest="json_path", help="also write the figures to this file")
    args = parser.parse_args()

    machine = machine_info()
    print(f"machine: {machine}")
    figures: dict[str, Any] = {"benchmark": "P2 convergence, P4 overhead", "machine": machine}
    if not args.skip_p2:
        print(f"P2: deploy and start all, simulated plug-ins (median of {args.runs} runs)")
        sizes = sorted({args.machines, *(int(s) for s in args.curve.split(",") if s)})
        curve: list[dict[str, Any]] = []
        too_slow = False
        for size in sizes:
            if too_slow and size != args.machines:
                print(f"  {size:>6} machines: skipped (a smaller size took > {args.budget:g} s)")
                curve.append({"machines": size, "skipped": f"a smaller size > {args.budget:g} s"})
                continue
            curve.append(p2(size, args.runs, args.heartbeat, args.timeout, args.budget))
            too_slow = too_slow or curve[-1]["median_s"] > args.budget
        main_figure = next(c for c in curve if c["machines"] == args.machines)
        figures["p2"] = {
            **main_figure,
            "heartbeat_s": args.heartbeat,
            "target_s": P2_TARGET_S,
            "meets_target": main_figure["all_converged"] and main_figure["median_s"] <= P2_TARGET_S,
            "curve": curve,
        }
        verdict = "met" if figures["p2"]["meets_target"] else "MISSED"
        print(
            f"P2 at {args.machines} machines: {main_figure['median_s']:.3f} s "
            f"(target ≤ {P2_TARGET_S:g} s: {verdict})"
        )
    if not args.skip_p4:
        print(f"P4: 3-tier, recipes that sleep {args.step} s (median of {args.runs} runs)")
        figures["p4"] = [
            p4(args.step, one_machine, args.runs, args.timeout) for one_machine in (False, True)
        ]
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as sink:
            json.dump(figures, sink, indent=2)


if __name__ == "__main__":
    main()
