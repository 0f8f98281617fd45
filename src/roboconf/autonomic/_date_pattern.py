"""``$(FORMATTED_TIME pattern)`` uses Java's ``SimpleDateFormat`` patterns (``yyyy-MM-dd HH:mm``).

Roboconf's command files were written for Java, so the same letters mean the same things here:
a run of one letter is a field (its length chooses the width or the text form), ``'...'`` is
quoted text and ``''`` a single quote. Names are in English whatever the machine's locale.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

_MONTHS = (
    *("January", "February", "March", "April", "May", "June", "July"),
    *("August", "September", "October", "November", "December"),
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_LETTERS = frozenset("GyYMLwWDdFEuaHkKhmsSzZX")

#: ``(letter, repeat count)`` for a field, ``(text, -1)`` for literal text
Token = tuple[str, int]


def tokenize(pattern: str) -> list[Token] | str:
    """The fields and literals of ``pattern``, or why it is invalid."""
    tokens: list[Token] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "'":
            end = index + 1
            text = ""
            while True:
                if end >= len(pattern):
                    return f"the quote at position {index + 1} is not closed"
                if pattern[end] == "'":
                    if end + 1 < len(pattern) and pattern[end + 1] == "'":
                        text += "'"
                        end += 2
                        continue
                    break
                text += pattern[end]
                end += 1
            tokens.append((text if end > index + 1 else "'", -1))
            index = end + 1
        elif char.isascii() and char.isalpha():
            if char not in _LETTERS:
                return f"'{char}' is not a pattern letter (quote literal text: '...')"
            end = index
            while end < len(pattern) and pattern[end] == char:
                end += 1
            tokens.append((char, end - index))
            index = end
        else:
            tokens.append((char, -1))
            index += 1
    return tokens


def format_time(tokens: list[Token], moment: datetime) -> str:
    return "".join(text if count < 0 else _field(text, count, moment) for text, count in tokens)


def _field(letter: str, count: int, moment: datetime) -> str:
    number = _NUMBERS.get(letter)
    if number is not None:
        value = number(moment)
        if letter in "yY" and count == 2:
            value %= 100
        return str(value).zfill(count)
    if letter in "ML":
        if count >= 4:
            return _MONTHS[moment.month - 1]
        if count == 3:
            return _MONTHS[moment.month - 1][:3]
        return str(moment.month).zfill(count)
    if letter == "E":
        day = _DAYS[moment.weekday()]
        return day if count >= 4 else day[:3]
    if letter == "a":
        return "AM" if moment.hour < 12 else "PM"
    if letter == "G":
        return "AD"
    return _zone(letter, count, moment)


def _zone(letter: str, count: int, moment: datetime) -> str:
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    if letter == "z":
        return moment.tzname() or "UTC"
    if letter == "X":
        if minutes == 0:
            return "Z"
        if count == 1:
            return f"{sign}{hours:02d}"
        return f"{sign}{hours:02d}{':' if count >= 3 else ''}{mins:02d}"
    return f"{sign}{hours:02d}{mins:02d}"  # Z


_NUMBERS: dict[str, Callable[[datetime], int]] = {
    "y": lambda m: m.year,
    "Y": lambda m: m.isocalendar()[0],
    "w": lambda m: m.isocalendar()[1],
    "W": lambda m: (m.day - 1 + m.replace(day=1).weekday()) // 7 + 1,
    "D": lambda m: m.timetuple().tm_yday,
    "d": lambda m: m.day,
    "F": lambda m: (m.day - 1) // 7 + 1,
    "u": lambda m: m.isoweekday(),
    "H": lambda m: m.hour,
    "k": lambda m: m.hour or 24,
    "K": lambda m: m.hour % 12,
    "h": lambda m: m.hour % 12 or 12,
    "m": lambda m: m.minute,
    "s": lambda m: m.second,
    "S": lambda m: m.microsecond // 1000,
}
