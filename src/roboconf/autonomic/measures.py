"""Probe measures (``probes/<Component>.measures``): what an agent measures, parsed, not run.

::

    # Notify the DM when this file exists, and delete it.
    [EVENT file cpuIsTooHigh]
    Delete if exists /tmp/{{ flag-file }}

Each measure starts with ``[EVENT <handler> <event-name>]`` and holds the lines that follow, up
to the next measure, as its handler will read them (``#`` lines and blank lines dropped). The
``{{ key }}`` placeholders are replaced by the values of
``probes/<Component>.measures.properties``. Handlers: ``file``, ``rest``, ``nagios``, ``docker``
(its lines are optional: the container name defaults to the instance's), ``script`` and
``system``; what their lines mean is up to the agent that evaluates them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from roboconf.autonomic._issues import did_you_mean
from roboconf.errors import Code, Diagnostic

__all__ = ["HANDLERS", "Measure", "MeasuresParse", "parse_measures"]

HANDLERS = frozenset({"file", "rest", "nagios", "docker", "script", "system"})
#: handlers whose measure may have no line
_LINES_OPTIONAL = frozenset({"docker"})

_EVENT = re.compile(r"\[\s*EVENT\b(?P<words>[^\]]*)\]", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\{\{\s*(?P<key>.*?)\s*\}\}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Measure:
    """One ``[EVENT handler event-name]`` section; ``line`` is the line of that header."""

    handler: str
    event_name: str
    lines: tuple[str, ...] = ()
    line: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MeasuresParse:
    """The measures with a valid header, in file order, and every problem found."""

    measures: tuple[Measure, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()


def parse_measures(
    text: str, properties: Mapping[str, str] | None = None, *, file: str = "<input>"
) -> MeasuresParse:
    """Parses a measures text; ``properties`` give the values of the ``{{ key }}`` placeholders."""
    reader = _Reader(properties or {}, file)
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        reader.read(number, raw.strip())
    reader.close()
    return MeasuresParse(measures=tuple(reader.measures), diagnostics=tuple(reader.diagnostics))


class _Reader:
    def __init__(self, values: Mapping[str, str], file: str) -> None:
        self.values = values
        self.file = file
        self.measures: list[Measure] = []
        self.diagnostics: list[Diagnostic] = []
        self.current: Measure | None = None
        self.header_seen = False  # lines before the first header are orphans
        self.orphan_reported = False

    def report(self, code: Code, line: int, message: str, **details: str) -> None:
        self.diagnostics.append(
            Diagnostic(code=code, message=message, file=self.file, line=line, details=details)
        )

    def read(self, number: int, line: str) -> None:
        if not line or line.startswith("#"):
            return
        content = _PLACEHOLDER.sub(lambda match: self.placeholder(match, number), line)
        if line.startswith("["):
            self.close()
            self.header_seen = True
            self.current = self.header(content, number)
        elif self.current is not None:
            self.current = replace(self.current, lines=(*self.current.lines, content))
        elif not self.header_seen and not self.orphan_reported:
            self.orphan_reported = True
            self.report(
                Code.PROBE_ORPHAN_LINE,
                number,
                f"'{line}' comes before any '[EVENT <handler> <event-name>]' header",
            )

    def close(self) -> None:
        measure, self.current = self.current, None
        if measure is None:
            return
        if not measure.lines and measure.handler not in _LINES_OPTIONAL:
            self.report(
                Code.PROBE_EMPTY_MEASURE,
                measure.line,
                f"the measure '{measure.event_name}' ({measure.handler}) says nothing to"
                " measure: add its lines under the '[EVENT ...]' header",
                event=measure.event_name,
            )
        self.measures.append(measure)

    def placeholder(self, match: re.Match[str], number: int) -> str:
        key = match["key"]
        if key in self.values:
            return self.values[key]
        self.report(
            Code.PROBE_UNRESOLVED_PLACEHOLDER,
            number,
            f"'{match.group(0)}' has no value: define '{key}' in the measures' properties file."
            + did_you_mean(key, self.values),
            placeholder=key,
        )
        return match.group(0)

    def header(self, line: str, number: int) -> Measure | None:
        match = _EVENT.fullmatch(line)
        words = match["words"].split() if match else []
        if len(words) != 2:
            self.report(
                Code.PROBE_INVALID_EVENT,
                number,
                f"'{line}' is not a measure header: write '[EVENT <handler> <event-name>]'",
            )
            return None
        handler, event = words[0].lower(), words[1]
        if handler not in HANDLERS:
            self.report(
                Code.PROBE_UNKNOWN_HANDLER,
                number,
                f"'{words[0]}' is not a measure handler.{did_you_mean(handler, HANDLERS)}"
                f" Handlers: {', '.join(sorted(HANDLERS))}.",
                handler=words[0],
            )
            return None
        return Measure(handler=handler, event_name=event, line=number)
