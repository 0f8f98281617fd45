"""``roboconf app create|list|show|delete|shutdown``: the applications a DM manages."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from roboconf.cli import views
from roboconf.cli.actions import Action, Selection
from roboconf.cli.client import DEFAULT_DM
from roboconf.cli.session import (
    DEFAULT_TIMEOUT_S,
    EXIT_CODES,
    DmOption,
    JsonOption,
    TimeoutOption,
    WaitOption,
    connect,
    out,
    print_json,
)
from roboconf.cli.waiting import follow, goal_of, newest_event_id

application = typer.Typer(
    name="app",
    help="Applications managed by a DM: create, list, show, shutdown, delete.",
    no_args_is_help=True,
    epilog=EXIT_CODES,
)

NameArgument = Annotated[str, typer.Argument(help="The application's name.")]


@application.command(epilog=EXIT_CODES)
def create(
    name: NameArgument,
    template: Annotated[str, typer.Option("--template", "-t", help="The template's name.")],
    version: Annotated[str, typer.Option("--version", "-v", help="The template's version.")],
    description: Annotated[str, typer.Option(help="What the application is for.")] = "",
    dm: DmOption = DEFAULT_DM,
    as_json: JsonOption = False,
) -> None:
    """Create an application from a stored template (its initial instances, nothing deployed)."""
    with connect(dm) as api:
        created = api.create_application(
            name, template=template, version=version, description=description
        )
    if as_json:
        print_json(created)
    else:
        out().print(
            f"created application {escape(created['name'])} "
            f"({created['instances']} instance(s), nothing deployed)"
        )


@application.command("list", epilog=EXIT_CODES)
def list_applications(dm: DmOption = DEFAULT_DM, as_json: JsonOption = False) -> None:
    """List the applications, with how many instances are in each state."""
    with connect(dm) as api:
        found = api.list_applications()
    if as_json:
        print_json(found)
    else:
        out().print(views.applications_table(found) if found else "no application")


@application.command(epilog=EXIT_CODES)
def show(name: NameArgument, dm: DmOption = DEFAULT_DM, as_json: JsonOption = False) -> None:
    """Show an application and the tree of its instances.

    With --json, the application only (``instance list --json`` gives its instances)."""
    with connect(dm) as api:
        found = api.get_application(name)
        instances = [] if as_json else api.list_instances(name)
    if as_json:
        print_json(found)
    else:
        out().print(views.application_summary(found), views.instance_tree(instances, name))


@application.command(epilog=EXIT_CODES)
def delete(name: NameArgument, dm: DmOption = DEFAULT_DM) -> None:
    """Delete an application (refused while anything of it is deployed)."""
    with connect(dm) as api:
        api.delete_application(name)
    out().print(f"deleted application {escape(name)}")


@application.command(epilog=EXIT_CODES)
def shutdown(
    name: NameArgument,
    wait: WaitOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT_S,
    dm: DmOption = DEFAULT_DM,
) -> None:
    """Undeploy everything of an application (it stays, with its instances)."""
    with connect(dm) as api:
        if not wait:
            api.shutdown_application(name)
            out().print(f"shutting {escape(name)} down")
            return
        before = api.list_instances(name)
        after = newest_event_id(api)
        api.shutdown_application(name)
        goal = goal_of(Action.UNDEPLOY, Selection(everything=True), before)
        code = follow(
            api, name, goal, before=before, after=after, timeout_s=timeout, what="shutdown"
        )
    raise typer.Exit(code)
