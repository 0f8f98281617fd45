"""``roboconf dm``: the Deployment Manager as a service (REST API, event stream), until stopped.

By default everything is embedded: SQLite in the data directory, the embedded messaging router,
and the in-memory target (agents as tasks of this process). Stopping it (Ctrl-C, SIGTERM) does
not undeploy anything: a restarted DM finds its applications as they were (machines that did
not survive are deployed again, to the states last requested).
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from roboconf.cli.local_files import user_data_dir
from roboconf.cli.messaging_options import (
    MessagingConfig,
    MessagingKind,
    MessagingUrl,
    messaging_from_options,
)
from roboconf.cli.ports import TARGETS, api_addresses
from roboconf.messaging.settings import MessagingSettings

DEFAULT_PORT = 8181


def dm(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Where the DM keeps its database, templates and agents' files."),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(help="A postgresql:// or sqlite:// URL (default: SQLite in --data-dir)."),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to listen on: 127.0.0.1, or the Docker bridge's with --target docker."
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = DEFAULT_PORT,
    simulate: Annotated[
        bool, typer.Option("--simulate", help="Simulated plug-ins: no recipe is executed.")
    ] = False,
    heartbeat: Annotated[float, typer.Option(help="Heartbeat period of agents (s).")] = 5.0,
    target: Annotated[
        str,
        typer.Option(
            help="Machines of templates with no target of theirs: in-memory, local or docker."
        ),
    ] = "in-memory",
    messaging: MessagingKind = "embedded",
    messaging_url: MessagingUrl = None,
    messaging_config: MessagingConfig = None,
    domain: Annotated[str, typer.Option(help="Several DMs may share one broker.")] = "default",
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run the Deployment Manager service (REST API at /api/v1) until stopped."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if target not in TARGETS:
        typer.echo(f"error: --target must be one of {', '.join(TARGETS)}, not {target!r}", err=True)
        raise typer.Exit(2)
    settings = messaging_from_options(messaging, messaging_url, messaging_config, domain)
    host, reachable = api_addresses(target, host)
    raise typer.Exit(
        asyncio.run(
            serve(
                data_dir=data_dir or user_data_dir("roboconf"),
                database=database,
                host=host,
                port=port,
                simulate=simulate,
                heartbeat_s=heartbeat,
                log_level=log_level,
                target=target,
                messaging=settings,
                dm_url=f"http://{reachable}:{port}",
            )
        )
    )


async def serve(
    *,
    data_dir: Path,
    database: str | None,
    host: str,
    port: int,
    simulate: bool,
    heartbeat_s: float,
    log_level: str,
    target: str = "in-memory",
    messaging: MessagingSettings | None = None,
    dm_url: str | None = None,
) -> int:
    from roboconf.cli.embedded import EmbeddedOptions, embedded_service
    from roboconf.cli.serving import serve_until_signalled
    from roboconf.errors import MessagingError

    options = EmbeddedOptions(
        data_dir=data_dir,
        database=database,
        simulate=simulate,
        heartbeat_s=heartbeat_s,
        environment=dict(os.environ),
        messaging=messaging or MessagingSettings(),
        dm_url=dm_url,
        default_target=target,
    )
    try:
        async with embedded_service(options) as service:
            started = await serve_until_signalled(service, host, port, log_level)
            return 0 if started else 1
    except MessagingError as error:
        logging.getLogger(__name__).error("%s", error)
        return 1
