"""``roboconf target add|list|associate|delete``: where a DM's machines come from."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from roboconf.cli import views
from roboconf.cli.client import DEFAULT_DM
from roboconf.cli.session import (
    EXIT_CODES,
    AppOption,
    DmOption,
    InputError,
    JsonOption,
    connect,
    out,
    print_json,
)

target = typer.Typer(
    name="target",
    help="Targets (where machines come from) and their associations with applications.",
    no_args_is_help=True,
    epilog=EXIT_CODES,
)


@target.command(epilog=EXIT_CODES)
def add(
    source: Annotated[
        str, typer.Argument(help="A target's properties file (id, handler, ...), or - for stdin.")
    ],
    dm: DmOption = DEFAULT_DM,
    as_json: JsonOption = False,
) -> None:
    """Add a target from its properties text (``id = ...``, ``handler = ...``, settings)."""
    with connect(dm) as api:
        created = api.create_target(read_properties(source))
    if as_json:
        print_json(created)
    else:
        out().print(f"added target {escape(created['id'])} ({escape(created['handler'])})")


@target.command("list", epilog=EXIT_CODES)
def list_targets(
    app: Annotated[
        str | None,
        typer.Option("--app", "-a", help="List this application's associations instead."),
    ] = None,
    dm: DmOption = DEFAULT_DM,
    as_json: JsonOption = False,
) -> None:
    """List the targets and who uses them (with --app: the application's associations)."""
    with connect(dm) as api:
        found = api.list_targets() if app is None else api.associations(app)
    if as_json:
        print_json(found)
    elif app is None:
        out().print(views.targets_table(found) if found else "no target")
    else:
        out().print(views.associations_table(found) if found else "no association")


@target.command(epilog=EXIT_CODES)
def associate(
    key: Annotated[str, typer.Argument(help="An instance path (/vm), @Component, or default.")],
    target_id: Annotated[str, typer.Argument(help="The target's id.", metavar="TARGET_ID")],
    app: AppOption,
    dm: DmOption = DEFAULT_DM,
) -> None:
    """Make an application's machines (one, a component's, or by default) use a target."""
    with connect(dm) as api:
        api.associate(app, key, target_id)
    out().print(f"{escape(app)}: {escape(key)} uses target {escape(target_id)}")


@target.command(epilog=EXIT_CODES)
def delete(
    target_id: Annotated[str, typer.Argument(help="The target's id.", metavar="TARGET_ID")],
    dm: DmOption = DEFAULT_DM,
) -> None:
    """Delete a target (refused while a deployed machine uses it)."""
    with connect(dm) as api:
        api.delete_target(target_id)
    out().print(f"deleted target {escape(target_id)}")


def read_properties(source: str) -> str:
    """The text of a properties file, or of standard input for ``-``."""
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise InputError("UNREADABLE_FILE", f"{source} cannot be read: {error.strerror}") from None
