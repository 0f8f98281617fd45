"""Autonomic rules: what a rule file says, and every way it can be wrong."""

from __future__ import annotations

import pytest

from roboconf.autonomic.rules import Rule, parse_rule, parse_rule_file

VALID = [
    (
        "the simplest rule",
        'rule "r"\nwhen\n  e\nthen\n  c\nend\n',
        Rule(name="r", events=("e",), commands=("c",)),
    ),
    (
        "all the properties",
        'rule "r"\n sleep period is 60s\n time window is 120\n occurrences is 3\nwhen e then c end',
        Rule(
            name="r",
            events=("e",),
            commands=("c",),
            sleep_period_s=60,
            time_window_s=120,
            occurrences=3,
        ),
    ),
    (
        "properties on the rule line, keywords in any case",
        'RULE "r" Sleep Period Is 5 s TIME WINDOW IS 7s\nWhen e Then c End',
        Rule(name="r", events=("e",), commands=("c",), sleep_period_s=5, time_window_s=7),
    ),
    (
        "several events, however separated",
        'rule "r"\nwhen\n a\n b; c, d and e\nthen x end',
        Rule(name="r", events=("a", "b", "c", "d", "e"), commands=("x",)),
    ),
    (
        "commands in order, by ';' or new lines",
        'rule "r" when e then\n c1; c2\n c3;\n\n c4\nend',
        Rule(name="r", events=("e",), commands=("c1", "c2", "c3", "c4")),
    ),
    (
        "command names may hold spaces",
        'rule "r" when e then scale up; notify admin end',
        Rule(name="r", events=("e",), commands=("scale up", "notify admin")),
    ),
    (
        "every kind of comment",
        '# one\n// two\nrule /* three */ "r" // four\nwhen e # five\n'
        "then /* six\n seven */ c\nend # eight",
        Rule(name="r", events=("e",), commands=("c",)),
    ),
    (
        "comment markers inside the quoted name",
        'rule "scale # 2 // up"\nwhen e then c end',
        Rule(name="scale # 2 // up", events=("e",), commands=("c",)),
    ),
    (
        "Windows line endings",
        'rule "r"\r\nwhen\r\n e\r\nthen\r\n c\r\nend\r\n',
        Rule(name="r", events=("e",), commands=("c",)),
    ),
]


@pytest.mark.parametrize("text, expected", [pytest.param(t, e, id=i) for i, t, e in VALID])
def test_a_valid_rule_is_read(text: str, expected: Rule) -> None:
    result = parse_rule(text, known_commands=None)

    assert result.diagnostics == ()
    assert result.rule == expected


ERRORS = [
    ("no 'rule' keyword", "\n\n  This is not a rule\nend", [("RULE_INVALID_SYNTAX", 3)]),
    ("an empty file", "", [("RULE_INVALID_SYNTAX", 1)]),
    ("a name without quotes", "rule r when e then c end", [("RULE_INVALID_SYNTAX", 1)]),
    ("no 'when'", 'rule "r"\nthen c end', [("RULE_INVALID_SYNTAX", 1)]),
    ("no 'then'", 'rule "r"\nwhen e\nend', [("RULE_INVALID_SYNTAX", 2)]),
    ("no 'end'", 'rule "r"\nwhen e\nthen c', [("RULE_INVALID_SYNTAX", 3)]),
    ("text after 'end'", 'rule "r" when e then c end\nrule "s"', [("RULE_INVALID_SYNTAX", 2)]),
    (
        "an unknown property",
        'rule "r"\n  salience 10\nwhen e then c end',
        [("RULE_INVALID_SYNTAX", 2)],
    ),
    (
        "a property given twice",
        'rule "r"\nsleep period is 1s\nsleep period is 2s\nwhen e then c end',
        [("RULE_INVALID_SYNTAX", 3)],
    ),
    (
        "zero occurrences",
        'rule "r"\noccurrences is 0\nwhen e then c end',
        [("RULE_INVALID_SYNTAX", 2)],
    ),
    (
        "an event name with spaces",
        'rule "r"\nwhen\n cpu is high\nthen c end',
        [("RULE_INVALID_SYNTAX", 3)],
    ),
    ("an unclosed comment", 'rule "r" when e then c end\n/* oops', [("RULE_INVALID_SYNTAX", 2)]),
    (
        "an empty name, no event, no command",
        'rule " "\nwhen\n\nthen\n\nend',
        [("RULE_EMPTY_NAME", 1), ("RULE_EMPTY_WHEN", 2), ("RULE_EMPTY_THEN", 4)],
    ),
    (
        "an unknown command",
        'rule "r"\nwhen e\nthen\n  known;\n  scale-upp\nend',
        [("RULE_UNKNOWN_COMMAND", 5)],
    ),
]


@pytest.mark.parametrize("text, expected", [pytest.param(t, e, id=i) for i, t, e in ERRORS])
def test_a_wrong_rule_gets_coded_diagnostics_with_lines(
    text: str, expected: list[tuple[str, int]]
) -> None:
    result = parse_rule(
        text, file="rules.autonomic/r.drl", known_commands={"c", "known", "scale-up"}
    )

    assert [(d.code.name, d.line) for d in result.diagnostics] == expected
    assert result.rule is None
    assert all(d.file == "rules.autonomic/r.drl" and d.message for d in result.diagnostics)


def test_an_unknown_command_suggests_a_known_one() -> None:
    result = parse_rule('rule "r" when e then scale-upp end', known_commands={"scale-up"})

    assert "Did you mean 'scale-up'?" in result.diagnostics[0].message
    assert result.diagnostics[0].details == {"command": "scale-upp"}


def test_commands_are_not_checked_without_the_known_ones() -> None:
    assert parse_rule('rule "r" when e then anything end').rule is not None


def test_a_rule_reads_as_its_name() -> None:
    rule = parse_rule('rule "scale-up" when e then c end').rule

    assert str(rule) == "scale-up"


def test_a_missing_rule_file_is_an_io_error() -> None:
    result = parse_rule_file("rules.autonomic/gone.drl", lambda path: None)

    assert [(d.code.name, d.line, d.file) for d in result.diagnostics] == [
        ("RULE_IO_ERROR", 1, "rules.autonomic/gone.drl")
    ]


def test_a_rule_file_is_read_through_the_callback() -> None:
    files = {"rules.autonomic/r.drl": 'rule "r" when e then c end'}

    assert parse_rule_file("rules.autonomic/r.drl", files.get, known_commands={"c"}).rule == Rule(
        name="r", events=("e",), commands=("c",)
    )
