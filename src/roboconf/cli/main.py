"""Entry point of the ``roboconf`` command (the composition root).

The client commands of a DM (:mod:`.remote`) import an HTTP client and their views, which a
command working on this machine (``run``, ``validate``, ``dm``, ``agent``) never uses: they
are left out of the command when one of those is called, to keep its start-up short. ``app``,
the whole command, is built when first asked for (tests, ``--help``).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from roboconf import __version__
from roboconf.cli.agent import agent
from roboconf.cli.dm import dm
from roboconf.cli.run import run
from roboconf.cli.validate import validate

#: the commands that work on this machine, with no DM client
LOCAL_COMMANDS = frozenset({"validate", "run", "dm", "agent"})


def _version(value: bool) -> None:
    if value:
        typer.echo(f"roboconf {__version__}")
        raise typer.Exit()


def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Roboconf for Python."""


def build(*, remote_commands: bool = True) -> typer.Typer:
    """The ``roboconf`` command, with or without the client commands of a DM."""
    command = typer.Typer(
        no_args_is_help=True,
        add_completion=False,
        help="Roboconf for Python: deploy distributed applications from a model.",
    )
    command.callback()(_root)
    for local in (validate, run, dm, agent):
        command.command()(local)
    if remote_commands:
        from roboconf.cli import remote

        remote.register(command)
    return command


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        return build()
    raise AttributeError(name)


def main() -> None:
    called = sys.argv[1] if len(sys.argv) > 1 else ""
    build(remote_commands=called not in LOCAL_COMMANDS)()
