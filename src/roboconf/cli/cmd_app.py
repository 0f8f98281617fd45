"""``roboconf app create|list|show|delete|shutdown|bind|unbind|bindings``: the applications a
DM manages, and which other applications' exports their ``external`` imports accept."""

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
    help="Applications managed by a DM: create, list, show, shutdown, delete; bind their "
    "external imports to other applications.",
    no_args_is_help=True,
    epilog=EXIT_CODES,
)

NameArgument = Annotated[str, typer.Argument(help="The application's name.")]
PrefixArgument = Annotated[
    str,
    typer.Argument(
        help="A prefix the application imports as external (another template's exports prefix)."
    ),
]


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


@application.command(epilog=EXIT_CODES)
def bind(
    name: NameArgument,
    prefix: PrefixArgument,
    targets: Annotated[
        list[str],
        typer.Argument(
            help="The applications whose exports the prefix accepts (they replace those bound "
            "before); their template must export under that prefix.",
            show_default=False,
        ),
    ],
    dm: DmOption = DEFAULT_DM,
    as_json: JsonOption = False,
) -> None:
    """Let an external import of an application use the exports of other applications.

    Without a binding an external prefix accepts no application: its importers stay
    UNRESOLVED. Its agents are told at once (importers start, update or stop as needed)."""
    with connect(dm) as api:
        bound = api.bind(name, prefix, targets)
    if as_json:
        print_json(bound)
    else:
        accepted = ", ".join(escape(a) for a in bound["applications"])
        out().print(f"{escape(name)}: {escape(prefix)} accepts {accepted}")


@application.command(epilog=EXIT_CODES)
def unbind(name: NameArgument, prefix: PrefixArgument, dm: DmOption = DEFAULT_DM) -> None:
    """Accept no application for an external import prefix any more (its providers are
    removed, as if they had stopped)."""
    with connect(dm) as api:
        api.unbind(name, prefix)
    out().print(f"{escape(name)}: {escape(prefix)} accepts no application")


@application.command(epilog=EXIT_CODES)
def bindings(name: NameArgument, dm: DmOption = DEFAULT_DM, as_json: JsonOption = False) -> None:
    """List an application's bindings: each external prefix and the applications it accepts."""
    with connect(dm) as api:
        found = api.bindings(name)
    if as_json:
        print_json(found)
    elif not found:
        out().print("no binding")
    else:
        for prefix, bound in sorted(found.items()):
            out().print(f"{escape(prefix)}: {', '.join(escape(a) for a in bound)}")
