"""A problem found inside one instruction, before it gets a file and a line."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from roboconf.errors import Code


@dataclass(frozen=True, slots=True)
class Issue:
    code: Code
    message: str
    details: Mapping[str, str] = field(default_factory=dict)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` (with the leading space) or an empty string."""
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""
