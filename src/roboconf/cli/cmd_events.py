"""``roboconf watch`` and ``roboconf history``: what a DM announces, live or past."""

from __future__ import annotations

import contextlib
import json
from typing import Annotated

import typer

from roboconf.cli import views
from roboconf.cli.client import DEFAULT_DM
from roboconf.cli.session import DmOption, JsonOption, connect, out, print_json

AnyAppOption = Annotated[
    str | None, typer.Option("--app", "-a", help="Only this application's events.")
]


def watch(
    app: AnyAppOption = None,
    count: Annotated[
        int | None, typer.Option(help="Stop after this many events (default: until Ctrl-C).", min=1)
    ] = None,
    after: Annotated[
        int | None, typer.Option(help="First replay the events after this id.", min=0)
    ] = None,
    dm: DmOption = DEFAULT_DM,
    as_json: Annotated[
        bool, typer.Option("--json", help="One event JSON per line (JSON Lines).")
    ] = False,
) -> None:
    """Print the DM's events as they happen, until Ctrl-C (or --count events)."""
    console = out()
    seen, last_id = 0, after
    with connect(dm) as api, contextlib.suppress(KeyboardInterrupt):
        while count is None or seen < count:
            events = api.stream_events(app, last_id)
            with contextlib.closing(events):
                for event in events:
                    last_id, seen = event.id, seen + 1
                    if as_json:
                        typer.echo(json.dumps(event.raw, ensure_ascii=False))
                    else:
                        console.print(views.event_line(event.raw), soft_wrap=True)
                    if seen == count:
                        break


def history(
    app: AnyAppOption = None,
    limit: Annotated[
        int, typer.Option(help="How many events (at most 1000).", min=1, max=1000)
    ] = 50,
    before: Annotated[
        int | None, typer.Option(help="Only events older than this id (the next page).", min=0)
    ] = None,
    dm: DmOption = DEFAULT_DM,
    as_json: JsonOption = False,
) -> None:
    """The DM's past events, newest first."""
    with connect(dm) as api:
        found = api.events(application=app, before=before, limit=limit)
    if as_json:
        print_json(found)
    else:
        out().print(views.events_table(found) if found else "no event")
