"""Entry point of the ``roboconf`` command."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Roboconf for Python.")


def main() -> None:
    app()
