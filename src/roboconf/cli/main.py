"""Entry point of the ``roboconf`` command (the composition root)."""

from __future__ import annotations

from typing import Annotated

import typer

from roboconf import __version__
from roboconf.cli import remote
from roboconf.cli.dm import dm
from roboconf.cli.run import run
from roboconf.cli.validate import validate

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Roboconf for Python: deploy distributed applications from a model.",
)
app.command()(validate)
app.command()(run)
app.command()(dm)
remote.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"roboconf {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Roboconf for Python."""


def main() -> None:
    app()
