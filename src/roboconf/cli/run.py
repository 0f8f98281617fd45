"""``roboconf run``: deploy a template for real with an embedded DM, then undeploy it on Ctrl-C.

Everything runs in this process: the DM, the embedded messaging router, and one agent per
machine (in-memory target). Recipes run for real (``--simulate`` for simulated plug-ins), with
this process's environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from roboconf.agent.agent import Agent, AgentSettings
from roboconf.cli.render import instance_tree, tree_as_json
from roboconf.dm.application import Application
from roboconf.dm.manager import DeploymentManager, DmSettings
from roboconf.messaging.embedded import EmbeddedRouter
from roboconf.model import InstanceStatus
from roboconf.plugins.base import StepLimits
from roboconf.project.loader import load_template
from roboconf.targets.base import MachineIdentity, TargetDefinition
from roboconf.targets.in_memory import InMemoryHandler

STARTED = InstanceStatus.DEPLOYED_STARTED
NOT_DEPLOYED = InstanceStatus.NOT_DEPLOYED
#: states after which waiting for "all started" is pointless
STUCK = (InstanceStatus.PROBLEM,)
#: seconds between two redraws of the live tree
REDRAW_S = 0.25


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    template: Path
    target: str
    simulate: bool
    once: bool
    as_json: bool
    timeout_s: float
    data_dir: Path | None
    heartbeat_s: float
    step_timeout_s: float


def run(
    template: Annotated[Path, typer.Argument(help="The application template (folder or zip).")],
    target: Annotated[
        str, typer.Option(help="Where machines come from (in-memory: agents in this process).")
    ] = "in-memory",
    simulate: Annotated[
        bool, typer.Option("--simulate", help="Simulated plug-ins: nothing is executed.")
    ] = False,
    once: Annotated[
        bool,
        typer.Option(
            "--once", help="Deploy and start all, undeploy all, exit (0 only if both worked)."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --once: the tree as JSON.")] = False,
    timeout: Annotated[
        float, typer.Option(help="With --once: seconds to wait for each phase.")
    ] = 300.0,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where agents keep work files (default: a temp folder).")
    ] = None,
    heartbeat: Annotated[float, typer.Option(help="Heartbeat period of agents (s).")] = 5.0,
    step_timeout: Annotated[float, typer.Option(help="Timeout of one recipe step (s).")] = 300.0,
) -> None:
    """Deploy and start an application on this machine; Ctrl-C undeploys it and exits."""
    if target != "in-memory":
        typer.echo(f"error: target {target!r} is not available yet (use in-memory)", err=True)
        raise typer.Exit(2)
    options = RunOptions(
        template=template,
        target=target,
        simulate=simulate,
        once=once,
        as_json=as_json,
        timeout_s=timeout,
        data_dir=data_dir,
        heartbeat_s=heartbeat,
        step_timeout_s=step_timeout,
    )
    raise typer.Exit(asyncio.run(_run(options)))


async def _run(options: RunOptions) -> int:
    console = Console(stderr=options.as_json)
    load = load_template(options.template)
    errors = [d for d in load.diagnostics if d.is_error]
    if load.template is None or errors:
        for diagnostic in errors or load.diagnostics:
            console.print(escape(diagnostic.render()))
        console.print(f"[red]{escape(str(options.template))} is not a valid template[/]")
        return 1
    name = load.template.name or options.template.name
    async with AsyncExitStack() as stack:
        data_dir = options.data_dir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="roboconf-run-"))
        )
        router = EmbeddedRouter()
        environment = dict(os.environ)

        async def run_agent(identity: MachineIdentity, definition: TargetDefinition) -> None:
            real = definition.flag("in-memory.execute-real-recipes", default=True)
            settings = AgentSettings(
                data_dir=data_dir,
                recipes_root=options.template / "graph",
                heartbeat_period_s=options.heartbeat_s,
                simulate=options.simulate or not real,
                environment=environment,
                limits=StepLimits(timeout_s=options.step_timeout_s),
            )
            agent = Agent(
                router,
                application=identity.application,
                scoped_path=identity.scoped_path,
                settings=settings,
            )
            await agent.run()

        handler = await stack.enter_async_context(InMemoryHandler(run_agent))
        dm = await stack.enter_async_context(
            DeploymentManager(
                router,
                {handler.handler_id: handler},
                settings=DmSettings(heartbeat_period_s=options.heartbeat_s),
            )
        )
        default = TargetDefinition(
            id="in-memory",
            handler="in-memory",
            properties={"in-memory.execute-real-recipes": "true"},
        )
        application = await dm.create_application(
            name, load.template, options.template, default_target=default
        )
        if options.once:
            return await _once(dm, application, options, console)
        return await _until_interrupted(dm, application, options, console)
    return 0


async def _once(
    dm: DeploymentManager, application: Application, options: RunOptions, console: Console
) -> int:
    started_at = time.monotonic()
    await dm.deploy_and_start_all(application.name)
    started = await _wait(dm, application, STARTED, options.timeout_s, console, "starting")
    start_s = time.monotonic() - started_at
    await dm.undeploy_all(application.name)
    undeployed = await _wait(
        dm, application, NOT_DEPLOYED, options.timeout_s, console, "undeploying"
    )
    total_s = time.monotonic() - started_at
    ok = started and undeployed
    if options.as_json:
        result = {
            "application": application.name,
            "started": started,
            "undeployed": undeployed,
            "start_seconds": round(start_s, 3),
            "total_seconds": round(total_s, 3),
            "instances": tree_as_json(application),
        }
        print(json.dumps(result, indent=2))
    else:
        console.print(instance_tree(application))
        verdict = "[green]ok[/]" if ok else "[red]failed[/]"
        console.print(
            f"{verdict}: all started: {started} ({start_s:.2f} s), "
            f"all undeployed: {undeployed} (total {total_s:.2f} s)"
        )
    return 0 if ok else 1


async def _wait(
    dm: DeploymentManager,
    application: Application,
    status: InstanceStatus,
    timeout_s: float,
    console: Console,
    what: str,
) -> bool:
    """Wait until every instance has ``status``; give up early on a PROBLEM while starting."""

    def reached(app: Application) -> bool:
        if status is STARTED and any(app.count(s) for s in STUCK):
            return True
        return app.all_in(status)

    with console.status(f"{what} {application.name}...", spinner="dots"):
        await dm.wait_until(application.name, reached, timeout_s)
    return application.all_in(status)


async def _until_interrupted(
    dm: DeploymentManager, application: Application, options: RunOptions, console: Console
) -> int:
    """Show the live tree until SIGINT/SIGTERM, then undeploy; redraws 4 times a second, from
    this event loop (the tree is not read from another thread while the DM changes it)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    phase = "Ctrl-C undeploys and exits"
    try:
        await dm.deploy_and_start_all(application.name)
        with Live(
            get_renderable=lambda: _screen(application, phase),
            auto_refresh=False,
            console=console,
        ) as live:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(REDRAW_S):
                        await stop.wait()
                live.refresh()
            phase = "undeploying..."
            await dm.undeploy_all(application.name)
            deadline = loop.time() + options.timeout_s
            while loop.time() < deadline and not application.all_in(NOT_DEPLOYED):
                live.refresh()
                await dm.wait_until(application.name, _all_undeployed, REDRAW_S)
            phase = "done"
            live.refresh()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    return 0 if application.all_in(NOT_DEPLOYED) else 1


def _all_undeployed(application: Application) -> bool:
    return application.all_in(NOT_DEPLOYED)


def _screen(application: Application, footer: str) -> Group:
    started = sum(1 for r in application if r.status is STARTED)
    total = len(application.instances)
    summary = Text(f"{started}/{total} started · {footer}", style="bold")
    return Group(instance_tree(application), summary)
