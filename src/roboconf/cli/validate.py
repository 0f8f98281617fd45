"""``roboconf validate``: every error and warning of a template, a zip or a graph file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from roboconf.errors import Diagnostic, Severity
from roboconf.project.loader import load_graph_file, load_template

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def validate(
    path: Annotated[
        Path, typer.Argument(help="A template folder, a template zip, or a single .graph file.")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of diagnostics.")
    ] = False,
    flexible: Annotated[
        bool,
        typer.Option(
            "--flexible", help="Accept a template without descriptor (takes the first graph)."
        ),
    ] = False,
) -> None:
    """Check a template; exit 0 without errors (warnings allowed), 1 with errors."""
    if not path.exists():
        typer.echo(f"error: {path} does not exist", err=True)
        raise typer.Exit(EXIT_USAGE)
    diagnostics = _diagnostics_of(path, flexible)
    errors = sum(1 for d in diagnostics if d.is_error)
    if as_json:
        typer.echo(json.dumps([d.to_json() for d in diagnostics], indent=2))
    else:
        _print_human(path, diagnostics, errors)
    raise typer.Exit(EXIT_INVALID if errors else EXIT_OK)


def _diagnostics_of(path: Path, flexible: bool) -> list[Diagnostic]:
    if path.is_file() and path.suffix == ".graph":
        _, diagnostics = load_graph_file(path)
        return sorted(diagnostics, key=_location)
    return sorted(load_template(path, flexible=flexible).diagnostics, key=_location)


def _location(d: Diagnostic) -> tuple[str, int, int]:
    return (d.file or "", d.line or 0, d.column or 0)


def _print_human(path: Path, diagnostics: list[Diagnostic], errors: int) -> None:
    console = Console(highlight=False, soft_wrap=True)
    for d in diagnostics:
        colour = "red" if d.level is Severity.ERROR else "yellow"
        where, _, rest = d.render().partition(": ")
        console.print(f"[bold]{escape(where)}[/]: [{colour}]{escape(rest)}[/]")
    warnings = len(diagnostics) - errors
    verdict = "[red]invalid[/]" if errors else "[green]valid[/]"
    console.print(f"{escape(str(path))}: {verdict} ({errors} error(s), {warnings} warning(s))")
