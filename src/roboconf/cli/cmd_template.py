"""``roboconf template upload|list|show|delete``: the templates a DM stores."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from roboconf.cli import views
from roboconf.cli.client import DEFAULT_DM
from roboconf.cli.session import (
    EXIT_CODES,
    DmOption,
    InputError,
    JsonOption,
    connect,
    out,
    print_json,
)

template = typer.Typer(
    name="template",
    help="Application templates stored by a DM: upload, list, show, delete.",
    no_args_is_help=True,
    epilog=EXIT_CODES,
)

NameArgument = Annotated[str, typer.Argument(help="The template's name.")]
VersionArgument = Annotated[str, typer.Argument(help="The template's version.")]


@template.command(epilog=EXIT_CODES)
def upload(
    source: Annotated[
        Path, typer.Argument(help="A template folder (zipped on the fly) or a template zip.")
    ],
    dm: DmOption = DEFAULT_DM,
    as_json: JsonOption = False,
) -> None:
    """Upload a template; the DM validates it (its errors are listed, exit 1)."""
    with connect(dm) as api:
        archive = zip_template(source)
        stored = api.upload_template(archive, f"{source.name or 'template'}.zip")
    if as_json:
        print_json(stored)
    else:
        out().print(f"uploaded template {escape(stored['name'])} {escape(stored['version'])}")


@template.command("list", epilog=EXIT_CODES)
def list_templates(
    name: Annotated[str | None, typer.Option(help="Only templates of this name.")] = None,
    version: Annotated[str | None, typer.Option(help="Only this version.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only templates with this tag.")] = None,
    dm: DmOption = DEFAULT_DM,
    as_json: JsonOption = False,
) -> None:
    """List the templates (name, version, tags, the applications made from them)."""
    with connect(dm) as api:
        found = api.list_templates(name=name, version=version, tag=tag)
    if as_json:
        print_json(found)
    else:
        out().print(views.templates_table(found) if found else "no template")


@template.command(epilog=EXIT_CODES)
def show(
    name: NameArgument,
    version: VersionArgument,
    dm: DmOption = DEFAULT_DM,
    as_json: JsonOption = False,
) -> None:
    """Show a template and the components of its graph."""
    with connect(dm) as api:
        found = api.get_template(name, version)
    if as_json:
        print_json(found)
    else:
        out().print(views.template_summary(found), views.components_table(found["components"]))


@template.command(epilog=EXIT_CODES)
def delete(
    name: NameArgument,
    version: VersionArgument,
    dm: DmOption = DEFAULT_DM,
) -> None:
    """Delete a template (refused while an application uses it)."""
    with connect(dm) as api:
        api.delete_template(name, version)
    out().print(f"deleted template {escape(name)} {escape(version)}")


def zip_template(source: Path) -> bytes:
    """The bytes of a template zip: a zip file as it is, a folder zipped in memory (paths
    relative to it, file modes kept so that recipes stay executable)."""
    if source.is_file():
        return source.read_bytes()
    if not source.is_dir():
        raise InputError("NO_SUCH_TEMPLATE", f"{source} is neither a template folder nor a zip")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(source).as_posix())
    return buffer.getvalue()
