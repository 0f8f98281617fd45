"""Java SimpleDateFormat patterns, as ``$(FORMATTED_TIME ...)`` uses them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from roboconf.autonomic._date_pattern import format_time, tokenize

MOMENT = datetime(2024, 3, 5, 14, 7, 9, 123456, tzinfo=UTC)

FORMATS = [
    ("ISO-like date and time", "yyyy-MM-dd HH:mm:ss.SSS", "2024-03-05 14:07:09.123"),
    ("short year and names", "EEE, d MMM yy", "Tue, 5 Mar 24"),
    ("full names", "EEEE d MMMM yyyy", "Tuesday 5 March 2024"),
    ("12-hour clock and quoted text", "hh 'o''clock' a", "02 o'clock PM"),
    ("a lone quote", "HH''mm", "14'07"),
    ("day of year, week, day of week", "D w u", "65 10 2"),
    ("hour 1-24 and 0-11", "k K", "14 2"),
    ("time zones", "z Z X", "UTC +0000 Z"),
    ("punctuation stays", "[yyyy/MM]", "[2024/03]"),
]


@pytest.mark.parametrize("pattern, expected", [pytest.param(p, e, id=i) for i, p, e in FORMATS])
def test_a_pattern_formats_like_java(pattern: str, expected: str) -> None:
    tokens = tokenize(pattern)

    assert isinstance(tokens, list)
    assert format_time(tokens, MOMENT) == expected


def test_offsets_follow_the_time_zone() -> None:
    tokens = tokenize("HH Z XXX")
    moment = MOMENT.astimezone(timezone(timedelta(hours=-5, minutes=-30)))

    assert isinstance(tokens, list)
    assert format_time(tokens, moment) == "08 -0530 -05:30"


@pytest.mark.parametrize(
    "pattern, why",
    [
        pytest.param("yyyy-qq", "'q' is not a pattern letter", id="an unknown letter"),
        pytest.param("HH 'h", "is not closed", id="an unclosed quote"),
    ],
)
def test_an_invalid_pattern_says_why(pattern: str, why: str) -> None:
    result = tokenize(pattern)

    assert isinstance(result, str) and why in result
