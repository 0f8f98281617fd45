"""``roboconf plan``: what a request would do (machines, steps, imports), without doing it."""

from __future__ import annotations

import enum
from typing import Annotated, Any

import typer

from roboconf.cli import views
from roboconf.cli.actions import (
    Action,
    Addition,
    BadArguments,
    Selection,
    add_body,
    parse_overrides,
    remove_body,
    request_body,
)
from roboconf.cli.client import DEFAULT_DM
from roboconf.cli.session import (
    AppOption,
    DmOption,
    EverythingOption,
    JsonOption,
    OverrideOption,
    UnderOption,
    connect,
    out,
    print_json,
)


class PlannedAction(enum.Enum):
    """What can be planned: a state request (one instance or in bulk), an addition, a removal."""

    DEPLOY = "deploy"
    START = "start"
    STOP = "stop"
    UNDEPLOY = "undeploy"
    ADD = "add"
    REMOVE = "remove"


def plan(
    action: Annotated[PlannedAction, typer.Argument(help="The request to plan.")],
    app: AppOption,
    path: Annotated[
        str | None,
        typer.Argument(
            help="The instance (deploy, start, stop, undeploy, remove).", show_default=False
        ),
    ] = None,
    everything: EverythingOption = False,
    under: UnderOption = None,
    component: Annotated[
        str | None,
        typer.Option(
            help="Every instance of this component; with add, the new instance's component.",
            metavar="NAME",
        ),
    ] = None,
    parent: Annotated[
        str | None, typer.Option(help="add: the parent's path.", metavar="PATH")
    ] = None,
    name: Annotated[str | None, typer.Option(help="add: the new instance's name.")] = None,
    override: OverrideOption = None,
    dm: DmOption = DEFAULT_DM,
    as_json: JsonOption = False,
) -> None:
    """Show what a request would do, without doing it.

    The machines to create or terminate, the recipe steps in order with the imports each would
    see, the states at the end, and what would be refused."""
    with connect(dm) as api:
        body = plan_request(
            action,
            path=path,
            everything=everything,
            under=under,
            component=component,
            parent=parent,
            name=name,
            overrides=override or [],
        )
        planned = api.plan(app, body)
    if as_json:
        print_json(planned)
    else:
        out().print(views.plan(planned), soft_wrap=True)


def plan_request(
    action: PlannedAction,
    *,
    path: str | None,
    everything: bool,
    under: str | None,
    component: str | None,
    parent: str | None,
    name: str | None,
    overrides: list[str],
) -> dict[str, Any]:
    """The body of ``POST /applications/{app}/plan`` for the command's arguments."""
    if action is PlannedAction.ADD:
        if component is None or name is None:
            raise BadArguments("plan add needs --component NAME and --name NAME (and --parent)")
        addition = Addition(
            parent=parent, component=component, name=name, overrides=parse_overrides(overrides)
        )
        return add_body(addition)
    if action is PlannedAction.REMOVE:
        if path is None:
            raise BadArguments("plan remove needs the PATH of the instance to remove")
        return remove_body(path)
    selection = Selection.of(path, everything=everything, under=under, component=component)
    return request_body(Action(action.value), selection)
