"""Autonomic rules (``rules.autonomic/<rule>.drl``): one rule per file.

::

    rule "scale-up"
        sleep period is 60s      # no new firing within 60 s of the last one (default 0)
        time window is 120s      # events older than this are ignored (default: none, -1)
        occurrences is 3         # the events must occur this many times (default 1)
    when
        cpuIsTooHigh             # one event, or several (new lines, ';', ',' or 'and')
    then
        replicateMachine;        # names of commands files, run in order (';' or new lines)
        notifyAdmin
    end

Keywords are case-insensitive; ``#``, ``//`` and ``/* */`` start comments (not inside the
quoted name). Diagnostics carry the line of what they are about.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from roboconf.autonomic._issues import did_you_mean
from roboconf.errors import Code, Diagnostic, has_errors

__all__ = ["Rule", "RuleParse", "parse_rule", "parse_rule_file"]

#: ``time_window_s`` when the rule has no time window
NO_TIME_WINDOW = -1

_I = re.IGNORECASE
_RULE = re.compile(r"\s*rule(?![^\s\"])", _I)
_NAME = re.compile(r"\s*\"([^\"\n]*)\"")
_KEYWORD = r"(?<!\S)({})(?!\S)"
_PROPERTIES = {
    "sleep_period_s": re.compile(r"sleep\s+period\s+is\s+([0-9]+)\s*s?(?!\S)", _I),
    "time_window_s": re.compile(r"time\s+window\s+is\s+([0-9]+)\s*s?(?!\S)", _I),
    "occurrences": re.compile(r"occurrences\s+is\s+([0-9]+)(?!\S)", _I),
}
_WRITTEN = {
    "sleep_period_s": "sleep period is <seconds>s",
    "time_window_s": "time window is <seconds>s",
    "occurrences": "occurrences is <count>",
}
_EVENT_SEPARATORS = re.compile(r"[;,\n]|(?<!\S)and(?!\S)", _I)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """When every event of ``events`` occurred (``occurrences`` times, within the time window),
    run the commands files ``commands`` in order, then wait ``sleep_period_s`` before firing
    again."""

    name: str
    events: tuple[str, ...]
    commands: tuple[str, ...]
    sleep_period_s: int = 0
    time_window_s: int = NO_TIME_WINDOW
    occurrences: int = 1

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleParse:
    """``rule`` is None when there is an error."""

    rule: Rule | None = None
    diagnostics: tuple[Diagnostic, ...] = ()


def parse_rule_file(
    path: str,
    read: Callable[[str], str | None],
    *,
    known_commands: Collection[str] | None = None,
) -> RuleParse:
    """Reads ``path`` through ``read`` (None: unreadable) and parses it."""
    text = read(path)
    if text is None:
        missing = Diagnostic(
            code=Code.RULE_IO_ERROR,
            message=f"the rule file '{path}' does not exist or cannot be read",
            file=path,
            line=1,
        )
        return RuleParse(diagnostics=(missing,))
    return parse_rule(text, file=path, known_commands=known_commands)


def parse_rule(
    text: str, *, file: str = "<input>", known_commands: Collection[str] | None = None
) -> RuleParse:
    """Parses one rule; ``known_commands`` (names without extension) enables
    ``RULE_UNKNOWN_COMMAND``."""
    parser = _Parser(text.replace("\r\n", "\n").replace("\r", "\n"), file)
    rule = parser.parse(known_commands)
    diagnostics = tuple(parser.diagnostics)
    return RuleParse(rule=None if has_errors(diagnostics) else rule, diagnostics=diagnostics)


class _Parser:
    def __init__(self, text: str, file: str) -> None:
        self.file = file
        self.diagnostics: list[Diagnostic] = []
        self.text = self._without_comments(text)

    def line(self, position: int) -> int:
        return self.text.count("\n", 0, position) + 1

    def report(self, code: Code, position: int, message: str, **details: str) -> None:
        self.diagnostics.append(
            Diagnostic(
                code=code,
                message=message,
                file=self.file,
                line=self.line(position),
                details=details,
            )
        )

    def invalid(self, position: int, message: str) -> None:
        self.report(Code.RULE_INVALID_SYNTAX, position, message)

    def parse(self, known_commands: Collection[str] | None) -> Rule | None:
        text = self.text
        start = _RULE.match(text)
        if start is None:
            first = len(text) - len(text.lstrip())
            seen = text[first:].split("\n", 1)[0].strip()
            self.invalid(first, f"a rule file starts with 'rule \"<name>\"', not '{seen}'")
            return None
        name = _NAME.match(text, start.end())
        if name is None:
            self.invalid(start.end(), "the rule name must follow 'rule', between double quotes")
            return None
        when = self._keyword("when", name.end())
        then = self._keyword("then", when.end()) if when else None
        end = self._keyword("end", then.end()) if then else None
        if when is None or then is None or end is None:
            missing = "when" if when is None else "then" if then is None else "end"
            after = (end or then or when or name).end()
            self.invalid(
                after,
                f"'{missing}' is missing: a rule reads 'rule \"<name>\" ... when"
                " <events> then <commands> end'",
            )
            return None
        if text[end.end() :].strip():
            extra = end.end() + len(text[end.end() :]) - len(text[end.end() :].lstrip())
            self.invalid(extra, "nothing may follow 'end' (one rule per file)")
        if not name.group(1).strip():
            self.report(Code.RULE_EMPTY_NAME, name.start(1), "the rule name is empty")
        properties = self._properties(name.end(), when.start())
        events = self._items(when.end(), then.start(), _EVENT_SEPARATORS)
        for event, position in events:
            if len(event.split()) > 1:
                self.invalid(
                    position,
                    f"'{event}' is not an event name (they have no spaces);"
                    " separate several events with new lines, ';' or 'and'",
                )
        if not events:
            self.report(Code.RULE_EMPTY_WHEN, when.start(), "'when' names no event")
        commands = self._items(then.end(), end.start(), re.compile(r"[;\n]"))
        if not commands:
            self.report(Code.RULE_EMPTY_THEN, then.start(), "'then' names no commands file")
        for command, position in commands:
            if known_commands is not None and command not in known_commands:
                self.report(
                    Code.RULE_UNKNOWN_COMMAND,
                    position,
                    f"there is no 'commands/{command}.commands' in the application."
                    + did_you_mean(command, known_commands),
                    command=command,
                )
        return Rule(
            name=name.group(1).strip(),
            events=tuple(event for event, _ in events),
            commands=tuple(command for command, _ in commands),
            **properties,
        )

    def _keyword(self, word: str, position: int) -> re.Match[str] | None:
        return re.compile(_KEYWORD.format(word), _I).search(self.text, position)

    def _properties(self, start: int, stop: int) -> dict[str, int]:
        found: dict[str, int] = {}
        position = start
        while True:
            while position < stop and self.text[position].isspace():
                position += 1
            if position >= stop:
                return found
            matches = ((k, p.match(self.text, position, stop)) for k, p in _PROPERTIES.items())
            key, match = next(((k, m) for k, m in matches if m is not None), ("", None))
            if match is None:
                seen = self.text[position:stop].split("\n", 1)[0].strip()
                accepted = "', '".join(_WRITTEN.values())
                self.invalid(position, f"'{seen}' is not a rule property; use '{accepted}'")
                return found
            value = int(match.group(1))
            if key in found:
                self.invalid(position, f"'{_WRITTEN[key]}' is given twice")
            elif key == "occurrences" and value < 1:
                self.invalid(position, "'occurrences' must be 1 or more")
            found[key] = value
            position = match.end()

    def _items(self, start: int, stop: int, separators: re.Pattern[str]) -> list[tuple[str, int]]:
        """The non-empty pieces of ``text[start:stop]`` between separators, with positions."""
        items = []
        position = start
        for separator in [*separators.finditer(self.text, start, stop), None]:
            end = separator.start() if separator else stop
            piece = self.text[position:end]
            if piece.strip():
                items.append((piece.strip(), position + len(piece) - len(piece.lstrip())))
            position = separator.end() if separator else stop
        return items

    def _without_comments(self, text: str) -> str:
        """``text`` with comments blanked out (new lines kept, so positions keep their line)."""
        result: list[str] = []
        index, quoted = 0, False
        while index < len(text):
            char = text[index]
            if char == "\n":
                quoted = False
            elif char == '"':
                quoted = not quoted
            elif not quoted and text.startswith("/*", index):
                end = text.find("*/", index + 2)
                if end < 0:
                    self.diagnostics.append(
                        Diagnostic(
                            code=Code.RULE_INVALID_SYNTAX,
                            message="this '/*' comment is never closed by '*/'",
                            file=self.file,
                            line=text.count("\n", 0, index) + 1,
                        )
                    )
                    end = len(text)
                comment = text[index : end + 2]
                result.append(re.sub(r"[^\n]", " ", comment))
                index += len(comment)
                continue
            elif not quoted and (char == "#" or text.startswith("//", index)):
                end = text.find("\n", index)
                end = len(text) if end < 0 else end
                result.append(" " * (end - index))
                index = end
                continue
            result.append(char)
            index += 1
        return "".join(result)
