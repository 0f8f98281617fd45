"""Files of this machine that commands read: ``.properties`` given by path, data folders."""

from __future__ import annotations

import os
from pathlib import Path

import typer


def user_data_dir(name: str) -> Path:
    """``$XDG_DATA_HOME/<name>`` (``~/.local/share/<name>``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / name


def read_properties_file(path: Path) -> dict[str, str]:
    """The keys of a ``.properties`` file given on the command line; exits 2 when unreadable."""
    from roboconf.project.properties import parse_properties

    try:
        return dict(parse_properties(path.read_text(encoding="utf-8")).values)
    except OSError as error:
        typer.echo(f"error: cannot read {path}: {error.strerror}", err=True)
        raise typer.Exit(2) from None
