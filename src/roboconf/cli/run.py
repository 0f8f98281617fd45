"""``roboconf run``: deploy a template for real with an embedded DM, then undeploy it on Ctrl-C.

Everything runs in this process: the DM service, the embedded messaging router, and one agent
per machine (in-memory target); with ``--target local``, an agent process per machine; with
``--target docker``, a container per machine, and the DM's API served on the Docker bridge's
address, which the agents in containers reach. Recipes run for real (``--simulate`` for
simulated plug-ins), with this process's environment. While it runs, the DM's API is served (its
URL is printed), so that the CLI's client commands, ``curl`` or the console can follow and change
the application.
Nothing is kept once it exits (everything is undeployed): the DM stores in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from roboconf.cli.embedded import EmbeddedOptions, embedded_service
from roboconf.cli.messaging_options import (
    MessagingConfig,
    MessagingKind,
    MessagingUrl,
    messaging_from_options,
)
from roboconf.cli.ports import TARGETS, api_addresses, available_port
from roboconf.cli.render import instance_tree, tree_as_json
from roboconf.dm.application import Application
from roboconf.dm.manager import DeploymentManager
from roboconf.dm.service import DmService
from roboconf.dm.views import InvalidTemplate, ServiceError
from roboconf.errors import MessagingError
from roboconf.messaging.settings import MessagingSettings, MessagingType
from roboconf.model import InstanceStatus

#: the DM of `roboconf run` keeps nothing once it exits
MEMORY = "memory://"
STARTED = InstanceStatus.DEPLOYED_STARTED
NOT_DEPLOYED = InstanceStatus.NOT_DEPLOYED
#: states after which waiting for "all started" is pointless
STUCK = (InstanceStatus.PROBLEM,)
#: seconds between two redraws of the live tree
REDRAW_S = 0.25
#: the exit code when a second Ctrl-C (or SIGTERM) cut the undeploy short (128 + SIGINT)
INTERRUPTED_TWICE = 130


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    template: Path
    target: str
    #: the user chose the target of every machine (--target), over the template's own
    target_given: bool
    #: agents run in processes or containers of their own (not in this process)
    remote_agents: bool
    simulate: bool
    once: bool
    as_json: bool
    timeout_s: float
    data_dir: Path | None
    heartbeat_s: float
    step_timeout_s: float
    host: str
    port: int
    messaging: MessagingSettings


def run(
    template: Annotated[Path, typer.Argument(help="The application template (folder or zip).")],
    target: Annotated[
        str | None,
        typer.Option(
            help="Where every machine comes from: in-memory (agents in this process), local "
            "(an agent process per machine) or docker (a container per machine). Default: "
            "the template's own targets, in-memory for machines with none."
        ),
    ] = None,
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
    host: Annotated[
        str | None,
        typer.Option(
            help="Address of the DM's API: 127.0.0.1, or the Docker bridge's with --target docker."
        ),
    ] = None,
    port: Annotated[
        int, typer.Option(help="Port of the DM's API; a free one when it is taken.")
    ] = 8181,
    messaging: MessagingKind = "embedded",
    messaging_url: MessagingUrl = None,
    messaging_config: MessagingConfig = None,
    domain: Annotated[
        str, typer.Option(help="Several DMs may share one broker (messaging domain).")
    ] = "default",
) -> None:
    """Deploy and start an application on this machine; Ctrl-C undeploys it and exits."""
    if target is not None and target not in TARGETS:
        typer.echo(f"error: --target must be one of {', '.join(TARGETS)}, not {target!r}", err=True)
        raise typer.Exit(2)
    # without --target, the template's targets: agents in their own processes reach the DM's
    # router through its API, and from containers only on the bridge's address
    kind = target or _template_kind(template)
    host, _ = api_addresses(kind, host)
    options = RunOptions(
        template=template,
        target=target or "in-memory",
        target_given=target is not None,
        remote_agents=kind != "in-memory",
        simulate=simulate,
        once=once,
        as_json=as_json,
        timeout_s=timeout,
        data_dir=data_dir,
        heartbeat_s=heartbeat,
        step_timeout_s=step_timeout,
        host=host,
        port=port,
        messaging=messaging_from_options(messaging, messaging_url, messaging_config, domain),
    )
    try:
        raise typer.Exit(asyncio.run(_run(options)))
    except MessagingError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    except asyncio.CancelledError:  # interrupted twice
        typer.echo(
            "error: interrupted again: exited without waiting for the undeploy; machines of "
            "their own (agent processes, containers) may be left running",
            err=True,
        )
        raise typer.Exit(INTERRUPTED_TWICE) from None


def _template_kind(template: Path) -> str:
    """Where the agents of the template's own targets run: ``docker`` when one of them is a
    docker target (the DM's API must be reachable from containers), ``local`` when one runs
    agent processes, else ``in-memory``."""
    from roboconf.dm.targets import template_targets
    from roboconf.project.loader import load_template

    load = load_template(template)
    if load.template is None or not template.is_dir():
        return "in-memory"
    shipped = template_targets(template / "graph", load.template.graph)
    handlers = {d.handler for definitions in shipped.values() for d in definitions}
    return next((kind for kind in ("docker", "local") if kind in handlers), "in-memory")


async def _run(options: RunOptions) -> int:
    console = Console(stderr=options.as_json)
    async with AsyncExitStack() as stack:
        data_dir = options.data_dir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="roboconf-run-"))
        )
        port = available_port(options.host, options.port)
        embedded = EmbeddedOptions(
            data_dir=data_dir,
            database=MEMORY,
            simulate=options.simulate,
            heartbeat_s=options.heartbeat_s,
            step_timeout_s=options.step_timeout_s,
            environment=dict(os.environ),
            messaging=options.messaging,
            dm_url=f"http://{options.host}:{port}",
            default_target=options.target,
            default_target_overrides=options.target_given,
        )
        service = await stack.enter_async_context(embedded_service(embedded))
        # agents in their own processes or containers reach the DM's router through its API
        routed_over_http = (
            options.remote_agents and options.messaging.type is not MessagingType.RABBITMQ
        )
        url = None
        if not options.once or routed_over_http:
            # imported here: FastAPI and uvicorn take a while to import, --once needs neither
            from roboconf.cli.serving import serving

            url = await stack.enter_async_context(serving(service, options.host, port))
        application = await _create(service, options, console)
        if application is None:
            return 1
        if options.once:
            return await _once(service, application, options, console)
        assert url is not None
        return await _until_interrupted(service, application, options, console, url)
    return 0


async def _create(service: DmService, options: RunOptions, console: Console) -> Application | None:
    """Upload the template into the DM and create its application; None (and why, printed)
    when the template is invalid."""
    try:
        template = await service.load_template_from(str(options.template))
        await service.create_application(template.name, template.name, template.version)
    except InvalidTemplate as invalid:
        for diagnostic in invalid.diagnostics:
            console.print(escape(diagnostic.render()))
        console.print(f"[red]{escape(str(options.template))} is not a valid template[/]")
        return None
    except ServiceError as refused:
        console.print(f"[red]{escape(str(options.template))}: {escape(refused.message)}[/]")
        return None
    return service.dm.application(template.name)


async def _once(
    service: DmService, application: Application, options: RunOptions, console: Console
) -> int:
    """Deploy and start all, then undeploy all; Ctrl-C (or SIGTERM) while starting goes on to
    the undeploy phase at once, so that nothing is left behind."""
    dm = service.dm
    started_at = time.monotonic()
    with _interruptible() as interrupted:
        await service.bulk(application.name, "deploy-and-start-all", None, None)
        started = await _wait(
            dm, application, STARTED, options.timeout_s, console, "starting", interrupted
        )
        start_s = time.monotonic() - started_at
        await service.bulk(application.name, "undeploy-all", None, None)
        undeployed = await _wait(
            dm, application, NOT_DEPLOYED, options.timeout_s, console, "undeploying"
        )
    total_s = time.monotonic() - started_at
    ok = started and undeployed and not interrupted.is_set()
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
        if interrupted.is_set():
            verdict = "[red]interrupted[/]"
        console.print(
            f"{verdict}: all started: {started} ({start_s:.2f} s), "
            f"all undeployed: {undeployed} (total {total_s:.2f} s)"
        )
    return 0 if ok else 1


@contextlib.contextmanager
def _interruptible() -> Iterator[asyncio.Event]:
    """An event set by SIGINT and SIGTERM while in the block (instead of interrupting it); a
    second one cancels the run at once, for whoever will not wait for the undeploy."""
    interrupted = asyncio.Event()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def signalled() -> None:
        if interrupted.is_set() and main is not None:
            main.cancel()
        interrupted.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, signalled)
    try:
        yield interrupted
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _wait(
    dm: DeploymentManager,
    application: Application,
    status: InstanceStatus,
    timeout_s: float,
    console: Console,
    what: str,
    interrupted: asyncio.Event | None = None,
) -> bool:
    """Wait until every instance has ``status``; give up early on a PROBLEM while starting,
    or when ``interrupted`` is set."""

    def reached(app: Application) -> bool:
        if interrupted is not None and interrupted.is_set():
            return True
        if status is STARTED and any(app.count(s) for s in STUCK):
            return True
        return app.all_in(status)

    with console.status(f"{what} {application.name}...", spinner="dots"):
        waiting = asyncio.create_task(dm.wait_until(application.name, reached, timeout_s))
        if interrupted is None:
            await waiting
        else:
            signalled = asyncio.create_task(interrupted.wait())
            await asyncio.wait((waiting, signalled), return_when=asyncio.FIRST_COMPLETED)
            for task in (waiting, signalled):
                task.cancel()
            await asyncio.gather(waiting, signalled, return_exceptions=True)
    return application.all_in(status)


async def _until_interrupted(
    service: DmService,
    application: Application,
    options: RunOptions,
    console: Console,
    url: str,
) -> int:
    """Show the live tree until SIGINT/SIGTERM, then undeploy; redraws 4 times a second, from
    this event loop (the tree is not read from another thread while the DM changes it)."""
    loop = asyncio.get_running_loop()
    dm = service.dm
    phase = f"DM API at {url}/api/v1 · Ctrl-C undeploys and exits"
    with _interruptible() as stop:
        await service.bulk(application.name, "deploy-and-start-all", None, None)
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
            phase = "undeploying... (Ctrl-C again exits at once)"
            await service.bulk(application.name, "undeploy-all", None, None)
            deadline = loop.time() + options.timeout_s
            while loop.time() < deadline and not application.all_in(NOT_DEPLOYED):
                live.refresh()
                await dm.wait_until(application.name, _all_undeployed, REDRAW_S)
            phase = "done"
            live.refresh()
    return 0 if application.all_in(NOT_DEPLOYED) else 1


def _all_undeployed(application: Application) -> bool:
    return application.all_in(NOT_DEPLOYED)


def _screen(application: Application, footer: str) -> Group:
    started = sum(1 for r in application if r.status is STARTED)
    total = len(application.instances)
    summary = Text(f"{started}/{total} started · {footer}", style="bold")
    return Group(instance_tree(application), summary)
