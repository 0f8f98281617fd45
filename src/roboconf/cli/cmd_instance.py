"""``roboconf instance …``: an application's instances — list, show, add, remove, request states
(one instance, a subtree, a component's, or all), and explain why one is not started."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.markup import escape

from roboconf.cli import views
from roboconf.cli.actions import Action, Addition, Selection, check, parse_overrides
from roboconf.cli.client import DEFAULT_DM, DmApi
from roboconf.cli.session import (
    DEFAULT_TIMEOUT_S,
    EXIT_CODES,
    AppOption,
    ComponentOption,
    DmOption,
    EverythingOption,
    JsonOption,
    OverrideOption,
    TimeoutOption,
    UnderOption,
    WaitOption,
    connect,
    out,
    print_json,
)
from roboconf.cli.waiting import Goal, follow, goal_of, newest_event_id
from roboconf.model import InstanceStatus

instance = typer.Typer(
    name="instance",
    help="Instances of an application: list, show, add, remove, deploy, start, stop, undeploy, "
    "wait, explain.",
    no_args_is_help=True,
    epilog=EXIT_CODES,
)

PathArgument = Annotated[str, typer.Argument(help="The instance's path, e.g. /vm/db.")]
OptionalPath = Annotated[
    str | None, typer.Argument(help="The instance's path (or --all, --under, --component).")
]


@instance.command("list", epilog=EXIT_CODES)
def list_instances(
    app: AppOption,
    under: UnderOption = None,
    dm: DmOption = DEFAULT_DM,
    as_json: JsonOption = False,
) -> None:
    """The tree of instances, with their states (--json: the flat list, parents first)."""
    with connect(dm) as api:
        found = api.list_instances(app, under=under)
    if as_json:
        print_json(found)
    else:
        out().print(views.instance_tree(found, app))


@instance.command(epilog=EXIT_CODES)
def show(
    path: PathArgument, app: AppOption, dm: DmOption = DEFAULT_DM, as_json: JsonOption = False
) -> None:
    """One instance: states, exports, imports (providers), data, last recipe output."""
    with connect(dm) as api:
        found = api.get_instance(app, path)
    if as_json:
        print_json(found)
    else:
        out().print(views.instance_details(found))


@instance.command(epilog=EXIT_CODES)
def explain(
    path: PathArgument, app: AppOption, dm: DmOption = DEFAULT_DM, as_json: JsonOption = False
) -> None:
    """Say why an instance is in its state.

    When it is not started: which import has no provider, which ancestor or machine it waits
    for, its last problem and recipe output."""
    with connect(dm) as api:
        found = api.explain(app, path)
    if as_json:
        print_json(found)
    else:
        out().print(views.explanation(found), soft_wrap=True)


@instance.command(epilog=EXIT_CODES)
def add(
    app: AppOption,
    component: Annotated[str, typer.Option(help="The new instance's component.")],
    name: Annotated[str, typer.Option(help="The new instance's name.")],
    parent: Annotated[
        str | None, typer.Option(help="The parent's path (none: a root instance).", metavar="PATH")
    ] = None,
    override: OverrideOption = None,
    dm: DmOption = DEFAULT_DM,
    as_json: JsonOption = False,
) -> None:
    """Add an instance (not deployed: start it with ``instance start PATH``)."""
    with connect(dm) as api:
        addition = Addition(
            parent=parent, component=component, name=name, overrides=parse_overrides(override or [])
        )
        created = api.add_instance(app, **addition.body())
    if as_json:
        print_json(created)
    else:
        out().print(f"added {escape(created['path'])} ({escape(created['component'])})")


@instance.command(epilog=EXIT_CODES)
def remove(path: PathArgument, app: AppOption, dm: DmOption = DEFAULT_DM) -> None:
    """Remove an instance and its children (refused unless not deployed)."""
    with connect(dm) as api:
        api.remove_instance(app, path)
    out().print(f"removed {escape(path)}")


def _requesting(action: Action, summary: str) -> Callable[..., None]:
    """The command of ``action``: one instance by PATH, or in bulk; ``--wait`` follows it."""

    def command(
        app: AppOption,
        path: OptionalPath = None,
        everything: EverythingOption = False,
        under: UnderOption = None,
        component: ComponentOption = None,
        wait: WaitOption = False,
        timeout: TimeoutOption = DEFAULT_TIMEOUT_S,
        dm: DmOption = DEFAULT_DM,
    ) -> None:
        with connect(dm) as api:
            selection = Selection.of(path, everything=everything, under=under, component=component)
            check(action, selection)
            if not wait:
                answer = request(api, app, action, selection)
                out().print(_requested(action, selection, answer))
                return
            before = api.list_instances(app)
            after = newest_event_id(api)
            request(api, app, action, selection)
            goal = goal_of(action, selection, before)
            code = follow(
                api, app, goal, before=before, after=after, timeout_s=timeout, what=action.value
            )
        raise typer.Exit(code)

    command.__doc__ = summary
    return command


@instance.command("wait", epilog=EXIT_CODES)
def wait_for(
    app: AppOption,
    path: OptionalPath = None,
    everything: EverythingOption = False,
    under: UnderOption = None,
    component: ComponentOption = None,
    status: Annotated[
        InstanceStatus, typer.Option(help="The state to wait for.")
    ] = InstanceStatus.DEPLOYED_STARTED,
    timeout: TimeoutOption = DEFAULT_TIMEOUT_S,
    dm: DmOption = DEFAULT_DM,
) -> None:
    """Wait until instances are in a state (exit 3 on timeout, 4 if one fails)."""
    with connect(dm) as api:
        selection = Selection.of(path, everything=everything, under=under, component=component)
        before = api.list_instances(app)
        after = newest_event_id(api)
        goal = Goal(paths=tuple(i["path"] for i in before if selection.covers(i)), status=status)
        code = follow(
            api, app, goal, before=before, after=after, timeout_s=timeout, what=status.value
        )
    raise typer.Exit(code)


def request(api: DmApi, app: str, action: Action, selection: Selection) -> dict[str, Any]:
    """Send the request of ``action`` on ``selection``: a state request, or a bulk one."""
    if selection.path is not None:
        return api.request_state(app, selection.path, action.requested.value)
    check(action, selection)
    bulk = {
        Action.START: api.deploy_and_start_all,
        Action.STOP: api.stop_all,
        Action.UNDEPLOY: api.undeploy_all,
    }[action]
    return bulk(app, under=selection.under, component=selection.component)


def _requested(action: Action, selection: Selection, answer: dict[str, Any]) -> str:
    if selection.path is not None:
        return f"requested {answer['requested']} for {escape(selection.path)}"
    return f"{action.value}: requested for {answer['instances']} instance(s)"


for _action, _summary in (
    (Action.DEPLOY, "Deploy an instance (DEPLOYED_STOPPED); one PATH only."),
    (
        Action.START,
        "Start an instance, or deploy and start many (--all, --under, --component); "
        "machines are created as needed.",
    ),
    (Action.STOP, "Stop an instance, or many (machines stay up)."),
    (Action.UNDEPLOY, "Undeploy an instance with its subtree, or many (machines are deleted)."),
):
    instance.command(_action.value, epilog=EXIT_CODES)(_requesting(_action, _summary))
