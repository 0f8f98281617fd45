"""Java ``.properties`` text: what Roboconf descriptors and target definitions are written in.

Keys map to values *and* to the line where they are defined, so that diagnostics about a value
can point at it. Syntax: ``key = value``, ``key: value`` or ``key value``; ``#``/``!`` comment
lines; a line ending with an odd number of ``\\`` continues on the next one (leading whitespace
of the continuation is dropped); ``\\t``, ``\\n``, ``\\uXXXX`` and escaped separators in keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
_UNICODE = re.compile(r"\\u([0-9a-fA-F]{4})")


@dataclass(frozen=True, slots=True, kw_only=True)
class Properties:
    values: Mapping[str, str] = field(default_factory=dict)
    lines: Mapping[str, int] = field(default_factory=dict)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.values.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.values


def parse_properties(text: str) -> Properties:
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, logical in _logical_lines(text):
        key, value = _split_key_value(logical)
        values[key] = value
        lines[key] = number
    return Properties(values=values, lines=lines)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    physical = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    index = 0
    while index < len(physical):
        start = index
        line = physical[index].lstrip(" \t\f")
        index += 1
        if not line or line[0] in "#!":
            continue
        parts = []
        while _continues(line) and index < len(physical):
            parts.append(line[:-1])
            line = physical[index].lstrip(" \t\f")
            index += 1
        if _continues(line):
            line = line[:-1]
        parts.append(line)
        yield start + 1, "".join(parts)


def _continues(line: str) -> bool:
    trailing = len(line) - len(line.rstrip("\\"))
    return trailing % 2 == 1


def _split_key_value(line: str) -> tuple[str, str]:
    index = 0
    while index < len(line):
        char = line[index]
        if char == "\\":
            index += 2
            continue
        if char in "=: \t\f":
            break
        index += 1
    key = line[:index]
    rest = line[index:].lstrip(" \t\f")
    if rest[:1] in ("=", ":") and (index >= len(line) or line[index] in " \t\f=:"):
        rest = rest[1:].lstrip(" \t\f")
    return _unescape(key), _unescape(rest)


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    text = _UNICODE.sub(lambda m: chr(int(m.group(1), 16)), text)
    out = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            out.append(_ESCAPES.get(following, following))
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)
