"""Probe measures files: sections, handlers, placeholders."""

from __future__ import annotations

import pytest

from roboconf.autonomic.measures import Measure, parse_measures

ROBOCONF_SAMPLE = """\
# These can be seen as probes configurations, all associated with a same Roboconf component.

# A simple query for Live Status, Nagios' protocol.
[EVENT nagios myRuleName-80]
GET hosts
Columns: host_name accept_passive_checks acknowledged
Filter: accept_passive_checks = {{ accept_passive_checks }}

[EVENT nagios myRuleName-2]
Nagios configuration at http://192.168.15.4:50001
GET hosts

[EVENT rest myRuleName-1]
Check http://google.fr THAT value > 0

[EVENT file myRuleName-for-file]
Notify if not exists /tmp/{{a-directory-to-not-delete}}

[EVENT docker myRuleName-3]

[Event SYSTEM load-is-high]
load1 > 2
"""


def test_a_measures_file_of_the_roboconf_documentation_is_read() -> None:
    properties = {"accept_passive_checks": "1", "a-directory-to-not-delete": "roboconf"}

    result = parse_measures(ROBOCONF_SAMPLE, properties, file="probes/Tomcat.measures")

    assert result.diagnostics == ()
    assert result.measures == (
        Measure(
            handler="nagios",
            event_name="myRuleName-80",
            lines=(
                "GET hosts",
                "Columns: host_name accept_passive_checks acknowledged",
                "Filter: accept_passive_checks = 1",
            ),
            line=4,
        ),
        Measure(
            handler="nagios",
            event_name="myRuleName-2",
            lines=("Nagios configuration at http://192.168.15.4:50001", "GET hosts"),
            line=9,
        ),
        Measure(
            handler="rest",
            event_name="myRuleName-1",
            lines=("Check http://google.fr THAT value > 0",),
            line=13,
        ),
        Measure(
            handler="file",
            event_name="myRuleName-for-file",
            lines=("Notify if not exists /tmp/roboconf",),
            line=16,
        ),
        Measure(handler="docker", event_name="myRuleName-3", line=19),
        Measure(handler="system", event_name="load-is-high", lines=("load1 > 2",), line=21),
    )


ERRORS = [
    ("a line before any measure", "Check x\n[EVENT rest e]\nCheck y", [("PROBE_ORPHAN_LINE", 1)]),
    ("an unknown handler", "[EVENT rst e]\nCheck x", [("PROBE_UNKNOWN_HANDLER", 1)]),
    ("a header without event name", "[EVENT file]\n/tmp/x", [("PROBE_INVALID_EVENT", 1)]),
    ("a header with too many words", "[EVENT file a b]\n/tmp/x", [("PROBE_INVALID_EVENT", 1)]),
    ("a header that is not closed", "[EVENT file a\n/tmp/x", [("PROBE_INVALID_EVENT", 1)]),
    (
        "a measure with no line",
        "[EVENT file a]\n# nothing\n[EVENT file b]\n/x",
        [("PROBE_EMPTY_MEASURE", 1)],
    ),
    (
        "a placeholder without value",
        "[EVENT file a]\n/tmp/{{ dir }}/{{ dir }}",
        [("PROBE_UNRESOLVED_PLACEHOLDER", 2), ("PROBE_UNRESOLVED_PLACEHOLDER", 2)],
    ),
]


@pytest.mark.parametrize("text, expected", [pytest.param(t, e, id=i) for i, t, e in ERRORS])
def test_a_wrong_measures_file_gets_coded_diagnostics_with_lines(
    text: str, expected: list[tuple[str, int]]
) -> None:
    result = parse_measures(text, file="probes/VM.measures")

    assert [(d.code.name, d.line) for d in result.diagnostics] == expected
    assert all(d.file == "probes/VM.measures" and d.message for d in result.diagnostics)


def test_an_unknown_handler_suggests_a_known_one() -> None:
    message = parse_measures("[EVENT rst e]\nx").diagnostics[0].message

    assert "Did you mean 'rest'?" in message


def test_placeholders_in_comments_are_ignored() -> None:
    assert parse_measures("# {{ nothing }}\n[EVENT file a]\n/x").diagnostics == ()


def test_an_empty_file_has_no_measure_and_no_problem() -> None:
    result = parse_measures("")

    assert (result.measures, result.diagnostics) == ((), ())
