"""``roboconf agent``: one agent as its own process, on the machine it manages.

Target handlers start it with its identity (options, a ``--config`` file or ``ROBOCONF_*``
variables: :mod:`roboconf.agent.config`). It connects to the messaging server, retrying for as
long as it takes (a machine may boot before its broker), asks the DM for its model with its
first heartbeat, and works until SIGTERM or SIGINT. Stopping the agent does not undeploy
anything: the DM undeploys a machine's instances before it terminates the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from roboconf.cli.local_files import read_properties_file, user_data_dir
from roboconf.errors import MessagingError

if TYPE_CHECKING:
    from roboconf.agent.config import AgentConfig

log = logging.getLogger(__name__)

#: seconds one connection attempt may take before the agent logs it and tries again
CONNECT_ROUND_S = 30.0
#: environment variables that configure the agent, not its recipes
_OWN_VARIABLES = ("ROBOCONF_",)


def agent(
    config: Annotated[
        Path | None,
        typer.Option(help="A .properties file: identity, messaging, folders (see the docs)."),
    ] = None,
    application: Annotated[
        str | None, typer.Option(help="The application this agent belongs to.")
    ] = None,
    scoped_path: Annotated[
        str | None, typer.Option(help="The path of its machine (scoped instance), e.g. /vm.")
    ] = None,
    messaging_type: Annotated[
        str | None, typer.Option(help="rabbitmq or http (the embedded router needs the DM).")
    ] = None,
    messaging_url: Annotated[
        str | None,
        typer.Option(help="amqp://… for rabbitmq, the DM's http://… address for http."),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="The agent's work folder (default: ~/.local/share).")
    ] = None,
    recipes_dir: Annotated[
        Path | None, typer.Option(help="The template's graph/ folder, on a shared file system.")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run one agent until stopped (SIGTERM, Ctrl-C)."""
    from roboconf.agent.config import AgentConfigError, agent_config, from_environment
    from roboconf.messaging.settings import MessagingSettingsError

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    keys = read_properties_file(config) if config is not None else {}
    keys.update(from_environment(os.environ))
    given = {
        "application": application,
        "scoped.path": scoped_path,
        "messaging.type": messaging_type,
        "data.dir": str(data_dir) if data_dir else None,
        "recipes.dir": str(recipes_dir) if recipes_dir else None,
    }
    if messaging_url:
        kind = messaging_type or keys.get("messaging.type", "")
        given["http.url" if kind == "http" else "rabbitmq.url"] = messaging_url
    keys.update({key: value for key, value in given.items() if value})
    try:
        settings = agent_config(keys, default_data_dir=user_data_dir("roboconf-agent"))
    except (AgentConfigError, MessagingSettingsError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(asyncio.run(_serve(settings)))


async def _serve(config: AgentConfig) -> int:
    """Work until SIGTERM/SIGINT, which cancel whatever the agent is doing (connecting
    included) and end it cleanly."""
    loop = asyncio.get_running_loop()
    work = asyncio.current_task()
    assert work is not None
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, work.cancel)
    try:
        await _work(config)
    except asyncio.CancelledError:
        log.info("agent %s %s: stopped", config.application, config.scoped_path)
    return 0


async def _work(config: AgentConfig) -> None:
    from roboconf.agent.address import read_route_address
    from roboconf.agent.agent import Agent, AgentSettings
    from roboconf.messaging.connect import agent_transport
    from roboconf.plugins.base import StepLimits
    from roboconf.targets.base import AUTO_ADDRESS

    name = f"agent {config.application} {config.scoped_path}"
    while True:
        try:
            transport = await agent_transport(
                config.messaging, name=name, deadline_s=CONNECT_ROUND_S
            )
            break
        except MessagingError as error:
            log.warning("%s: %s; trying again", name, error)
    log.info("%s: connected through %s", name, config.messaging.describe())
    ip, address = config.ip, None
    if ip == AUTO_ADDRESS:  # the address on the route to the messaging server, read again each beat
        address = functools.partial(read_route_address, config.messaging.url)
        ip = await address() or "127.0.0.1"
        log.info("%s: its address is %s (on the route to %s)", name, ip, config.messaging.url)
    settings = AgentSettings(
        data_dir=config.data_dir,
        recipes_root=config.recipes_dir,
        ip=ip,
        address=address,
        domain=config.messaging.domain,
        heartbeat_period_s=config.heartbeat_period_s,
        check_period_s=config.check_period_s,
        limits=StepLimits(timeout_s=config.step_timeout_s),
        simulate=config.simulate,
        keep_state=True,
        environment={
            key: value for key, value in os.environ.items() if not key.startswith(_OWN_VARIABLES)
        },
    )
    worker = Agent(
        transport,
        application=config.application,
        scoped_path=config.scoped_path,
        settings=settings,
    )
    try:
        await worker.run()
    finally:
        with contextlib.suppress(MessagingError):
            await transport.close()
