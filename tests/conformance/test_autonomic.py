"""Roboconf's commands and rules corpus: sections ``commands``, ``commands_inline``, ``rules``
and ``rules_inline`` of ``expectations.json``, with the application of ``contexts``."""

from __future__ import annotations

from typing import Any

import pytest

from roboconf.autonomic.commands import (
    CommandsContext,
    CommandsParse,
    parse_commands,
    parse_commands_file,
)
from roboconf.autonomic.rules import parse_rule, parse_rule_file
from roboconf.errors import Diagnostic
from roboconf.model.types import Component, ExportedVariable, Graph, ImportedVariable
from tests.conformance import corpus


def _graph(description: dict[str, Any]) -> Graph:
    components = {
        name: Component(
            name=name,
            installer=facts.get("installer"),
            children=tuple(facts.get("children", ())),
            exports={
                var: ExportedVariable(name=var, value=value)
                for var, value in facts.get("exports", {}).items()
            },
            imports={
                var: ImportedVariable(name=var, **flags)
                for var, flags in facts.get("imports", {}).items()
            },
        )
        for name, facts in description["components"].items()
    }
    return Graph(components=components)


def _context(entry: dict[str, Any], parsed_file: str | None = None) -> CommandsContext:
    """The ``contexts`` application; its ``commands/`` folder holds ``commands_dir``."""
    application = corpus.expectations()["contexts"][entry["context"]]
    files = {
        name.removesuffix(".commands"): (corpus.root() / path).read_text(encoding="utf-8")
        for name, path in entry.get("commands_dir", {}).items()
    }
    itself = [
        name.removesuffix(".commands")
        for name, path in entry.get("commands_dir", {}).items()
        if path == parsed_file
    ]
    return CommandsContext(
        graph=_graph(application["graph"]),
        instances=application["instances"],
        commands=frozenset(files),
        read=files.get,
        command_name=itself[0] if itself else None,
    )


def _check_errors(diagnostics: tuple[Diagnostic, ...], entry: dict[str, Any]) -> None:
    found = [(d.code.name, d.line) for d in diagnostics]
    if "error_count" in entry:
        assert len(found) == entry["error_count"], found
    expected = entry.get("errors", [])
    if entry.get("ordered"):
        assert len(found) >= len(expected)
        pairs = list(zip(found, expected, strict=False))
    else:
        pairs = [(_matching(found, e), e) for e in expected]
    for (code, line), wanted in pairs:
        assert wanted["code"] in (None, code), found
        assert wanted["line"] in (None, line), found


def _matching(
    found: list[tuple[str, int | None]], wanted: dict[str, Any]
) -> tuple[str, int | None]:
    for code, line in found:
        if wanted["code"] in (None, code) and wanted["line"] in (None, line):
            return code, line
    raise AssertionError(f"{wanted} not in {found}")


def _check_instructions(result: CommandsParse, entry: dict[str, Any]) -> None:
    if "instruction_count" in entry:
        assert len(result.instructions) == entry["instruction_count"]
    expected = entry.get("instructions", [])
    assert len(result.instructions) >= len(expected)
    for found, wanted in zip(result.instructions, expected, strict=False):
        assert found.kind == wanted["type"]
        if "disabled" in wanted:
            assert found.disabled is wanted["disabled"], found
        if "message" in wanted:
            assert getattr(found, "message", None) == wanted["message"]


@pytest.mark.parametrize("key, entry", corpus.entries("commands"))
def test_commands_file(key: str, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    path = f"commands/{key}"
    text = (corpus.root() / path).read_text(encoding="utf-8")

    result = parse_commands(text, _context(entry, path), file=key)

    _check_errors(result.diagnostics, entry)
    assert result.ok is entry["valid"]
    _check_instructions(result, entry)


@pytest.mark.parametrize("key, entry", corpus.entries("commands_inline"))
def test_commands_text(key: int, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    context = _context(entry)

    if entry.get("missing_file"):
        result = parse_commands_file("inexisting", context)
    else:
        result = parse_commands(entry["text"] or "", context)

    assert [d.code.name for d in result.diagnostics] == entry["errors"]
    _check_instructions(result, entry)


@pytest.mark.parametrize("key, entry", corpus.entries("rules"))
def test_rule_file(key: str, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    text = (corpus.root() / "rules" / key).read_text(encoding="utf-8")

    result = parse_rule(text, file=key)

    _check_errors(result.diagnostics, entry)
    assert (result.rule is not None) is entry["valid"]
    if "rule" in entry:
        expected, rule = entry["rule"], result.rule
        assert rule is not None
        assert rule.name == expected["name"]
        assert rule.events == (expected["event"],)
        assert rule.sleep_period_s == expected["sleep_period"]
        assert rule.time_window_s == expected["time_window"]
        assert list(rule.commands) == expected["commands"]
        assert str(rule) == expected.get("to_string", str(rule))


@pytest.mark.parametrize("key, entry", corpus.entries("rules_inline"))
def test_rule_text(key: int, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    assert entry.get("missing_file"), "only missing files are described"

    result = parse_rule_file("rules.autonomic/inexisting.drl", lambda path: None)

    assert [d.code.name for d in result.diagnostics] == entry["errors"]
    assert result.rule is None
