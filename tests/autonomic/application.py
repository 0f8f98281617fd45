"""A small application for the autonomic tests: the graph of Roboconf's "test application"
(vm > tomcat > war, vm > mysql), with a fixed clock and fixed UUIDs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from roboconf.autonomic.commands import CommandsContext, CommandsParse, parse_commands
from roboconf.model.types import Component, Graph

GRAPH = Graph(
    components={
        "vm": Component(name="vm", installer="target", children=("tomcat", "mysql")),
        "tomcat": Component(name="tomcat", installer="puppet", children=("war",)),
        "mysql": Component(name="mysql", installer="puppet"),
        "war": Component(name="war", installer="script"),
    }
)
INSTANCES = {
    "/mysql-vm": "vm",
    "/mysql-vm/mysql-server": "mysql",
    "/tomcat-vm": "vm",
    "/tomcat-vm/tomcat-server": "tomcat",
    "/tomcat-vm/tomcat-server/hello-world": "war",
}
#: 2024-03-05 14:07:09.123456789 UTC
NOW_NS = int(datetime(2024, 3, 5, 14, 7, 9, tzinfo=UTC).timestamp()) * 10**9 + 123_456_789
UUID = "00000000-0000-4000-8000-000000000000"


def context(*, commands: Mapping[str, str] | None = None, **changes: Any) -> CommandsContext:
    """The test application; ``commands``: name → text of the files of ``commands/``."""
    files = dict(commands or {})
    options: dict[str, Any] = {
        "graph": GRAPH,
        "instances": INSTANCES,
        "commands": frozenset(files),
        "read": files.get,
        "clock_ns": lambda: NOW_NS,
        "new_uuid": lambda: UUID,
        "timezone": UTC,
    }
    return CommandsContext(**{**options, **changes})


def parse(text: str, **changes: Any) -> CommandsParse:
    return parse_commands(text, context(**changes), file="commands/test.commands")


def codes(result: Any) -> list[tuple[str, int | None]]:
    return [(d.code.name, d.line) for d in result.diagnostics]
