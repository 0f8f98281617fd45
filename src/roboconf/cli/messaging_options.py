"""The messaging options shared by ``roboconf dm`` and ``roboconf run``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from roboconf.cli.local_files import read_properties_file
from roboconf.messaging.settings import (
    MessagingSettings,
    MessagingSettingsError,
    messaging_settings,
)

MessagingKind = Annotated[
    str,
    typer.Option(
        "--messaging",
        help="embedded (the DM routes; agents in other processes connect over http) or rabbitmq.",
    ),
]
MessagingUrl = Annotated[
    str | None,
    typer.Option(help="The broker's amqp://user:password@host:port/vhost (rabbitmq)."),
]
MessagingConfig = Annotated[
    Path | None,
    typer.Option(help="A .properties file of messaging keys (TLS, Roboconf's spelling...)."),
]


def messaging_from_options(
    kind: str, url: str | None, config: Path | None, domain: str = "default"
) -> MessagingSettings:
    """Settings from the options (they win over the file); exits 2 with the reason."""
    keys: dict[str, str] = {"messaging.domain": domain}
    if config is not None:
        keys.update(read_properties_file(config))
    if kind != "embedded" or "messaging.type" not in keys:
        keys["messaging.type"] = kind
    if url:
        keys["rabbitmq.url"] = url
    try:
        settings = messaging_settings(keys)
    except MessagingSettingsError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    if settings.type.value == "http":
        typer.echo("error: the DM routes http agents itself: use --messaging embedded", err=True)
        raise typer.Exit(2)
    return settings
