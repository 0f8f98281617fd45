"""Which plug-in serves an installer name (``installer: script;`` in a graph)."""

from __future__ import annotations

import difflib
from collections.abc import Callable

from roboconf.errors import RoboconfError
from roboconf.model.graph import TARGET_INSTALLER
from roboconf.plugins.base import Plugin
from roboconf.plugins.file import FilePlugin
from roboconf.plugins.logger import LoggerPlugin
from roboconf.plugins.script import ScriptPlugin

_FACTORIES: dict[str, Callable[[], Plugin]] = {
    "script": ScriptPlugin,
    "file": FilePlugin,
    "logger": LoggerPlugin,
}
ALIASES = {"bash": "script"}


class UnknownInstaller(RoboconfError):
    """No plug-in has this installer name."""

    def __init__(self, installer: str) -> None:
        self.installer = installer
        known = installer_names()
        close = difflib.get_close_matches(installer.lower(), known, n=1)
        self.suggestion = close[0] if close else None
        if installer.lower() == TARGET_INSTALLER:
            hint = "machines (installer 'target') are created by target handlers, not plug-ins"
        elif self.suggestion is not None:
            hint = f"did you mean {self.suggestion!r}?"
        else:
            hint = f"known installers: {', '.join(known)}"
        super().__init__(f"no plug-in for installer {installer!r}: {hint}")


def installer_names() -> tuple[str, ...]:
    """Installer names a graph may use, aliases included."""
    return tuple(sorted([*_FACTORIES, *ALIASES]))


def plugin_for(installer: str) -> Plugin:
    """A new plug-in for ``installer`` (case-insensitive), with its default settings."""
    name = installer.lower()
    factory = _FACTORIES.get(ALIASES.get(name, name))
    if factory is None:
        raise UnknownInstaller(installer)
    return factory()
