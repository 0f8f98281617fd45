"""Whatever the text, the parsers return values: no exception, only coded diagnostics that point
at a line of the text. ``ROBOCONF_FUZZ_EXAMPLES`` raises the number of examples (default 300)."""

from __future__ import annotations

import os
from collections.abc import Iterable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roboconf.autonomic.commands import parse_commands, parse_commands_file
from roboconf.autonomic.measures import parse_measures
from roboconf.autonomic.rules import parse_rule
from roboconf.errors import Category, Diagnostic
from tests.autonomic.application import context

FUZZ = settings(
    max_examples=int(os.environ.get("ROBOCONF_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

WORDS = [
    *(" as ", " under ", " with ", " into ", " to ", " instances of ", " = ", " and ", " all "),
    *("vm", "tomcat", "war", "oops", "/tomcat-vm", "/mysql-vm/mysql-server", "/", "/vm 1"),
    *("$(", ")", "$(VAR)", "$(n)", "$(OLD)", "$(SMART_INDEX)", "$(EXISTING_INDEX MAX < 3)"),
    *("$(FORMATTED_TIME ", "yyyy'", "$(UUID)", "$(NANO_TIME)", "DEPLOYED_STARTED", "STARTED"),
    *("\\", "#", " ", "\t", "\\n", "a", "1", "'", "%TMP%", "single", "test", ".commands"),
]
COMMAND_STARTS = [
    *("define VAR = ", "define n = vm $(SMART_INDEX)", "define OLD = vm $(EXISTING_INDEX MIN"),
    *("create vm as ", "create tomcat as t under ", "replicate /tomcat-vm as ", "rename /"),
    *("associate /tomcat-vm with ", "change status of /tomcat-vm to ", "deploy and start all "),
    *("Stop all /", "undeploy all instances of ", "delete ", "DELETE ALL ", "email a@b.c with "),
    *("write x into ", "append ", "execute ", "# ", "", "defin "),
]
SEPARATORS = ["\n", "\r\n", "\r", " \\\n\t", "\n\n"]
RULE_WORDS = [
    *("rule ", '"', "when", "then", "end", " and ", ";", ",", "sleep period is ", "60", "s"),
    *("#", "//", "/*", "*/", "\n", "\r\n", " ", "\t", "x y", "e", "cmd"),
]
MEASURE_LINES = [
    *("[EVENT file f]", "[event DOCKER d]", "[EVENT rst x]", "[EVENT nagios n] ", "[EVENT file]"),
    *("[EVENT system {{ key }}]", "[EVENT rest r", "/tmp/{{ key }}", "Check x THAT {{ nope }} > 1"),
    *("# comment {{ nope }}", "", "load1 > 2", "{{", "}}"),
]


def _texts(words: list[str], size: int = 40) -> st.SearchStrategy[str]:
    pieces = st.one_of(st.sampled_from(words), st.text(max_size=4))
    return st.lists(pieces, max_size=size).map("".join)


def _commands() -> st.SearchStrategy[str]:
    line = st.tuples(st.sampled_from(COMMAND_STARTS), _texts(WORDS, 6)).map("".join)
    lines = st.lists(st.tuples(line, st.sampled_from(SEPARATORS)).map("".join), max_size=12)
    return st.one_of(lines.map("".join), _texts(WORDS + COMMAND_STARTS + SEPARATORS))


def _slot(valid: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(valid), _texts(RULE_WORDS, 5))


def _rules() -> st.SearchStrategy[str]:
    parts = st.tuples(
        _slot(['rule "r"', 'RULE "scale up"', 'rule ""', "rule", 'rule /* c */ "x"', "# c\n"]),
        _slot(["", "\nsleep period is 10s", "\ntime window is 5\noccurrences is 2", "salience"]),
        _slot(["\nwhen\n", " WHEN ", "\n"]),
        _slot(["e", "a; b", "a and b\nc", "", "cpu is high"]),
        _slot(["\nthen\n", " then "]),
        _slot(["cmd", "cmd; other", "", "cmd\n// c\ncmd2"]),
        _slot(["\nend", " END\n", "", "\nend\nrule"]),
    )
    return st.one_of(parts.map("".join), _texts(RULE_WORDS))


def _measures() -> st.SearchStrategy[str]:
    line = st.one_of(st.sampled_from(MEASURE_LINES), st.text(max_size=6))
    return st.lists(line, max_size=15).map("\n".join)


def _lines(text: str) -> int:
    return len(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def _assert_located(
    diagnostics: Iterable[Diagnostic], text: str, category: Category, file: str
) -> None:
    for diagnostic in diagnostics:
        assert diagnostic.code.category is category
        assert diagnostic.file == file
        assert diagnostic.line is not None and 1 <= diagnostic.line <= _lines(text)
        assert diagnostic.message


@FUZZ
@given(text=_commands(), other=_commands())
def test_any_commands_text_gives_instructions_and_located_diagnostics(
    text: str, other: str
) -> None:
    files = {"single": other, "test": text}

    result = parse_commands(text, context(commands=files), file="c.commands")
    in_a_file = parse_commands_file("test", context(commands=files))

    _assert_located(result.diagnostics, text, Category.COMMANDS, "c.commands")
    _assert_located(in_a_file.diagnostics, text, Category.COMMANDS, "commands/test.commands")
    assert all(1 <= i.line <= _lines(text) for i in result.instructions)
    assert [i.line for i in result.instructions] == sorted(i.line for i in result.instructions)


@FUZZ
@given(text=_rules())
def test_any_rule_text_gives_a_rule_or_located_diagnostics(text: str) -> None:
    result = parse_rule(text, file="r.drl", known_commands={"cmd"})

    _assert_located(result.diagnostics, text, Category.RULES, "r.drl")
    assert (result.rule is None) is any(d.is_error for d in result.diagnostics)


@FUZZ
@given(text=_measures())
def test_any_measures_text_gives_measures_and_located_diagnostics(text: str) -> None:
    result = parse_measures(text, {"key": "value"}, file="p.measures")

    _assert_located(result.diagnostics, text, Category.PROBES, "p.measures")
    assert all(1 <= m.line <= _lines(text) for m in result.measures)
