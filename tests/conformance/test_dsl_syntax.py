"""The text layer of the DSL against Roboconf's corpus: line-level tables, block validation, and
the ``parse`` / ``parse_block`` / ``validate`` stages, round trips and parse facts of ``dsl/``.

The ``graph``, ``graph_flexible``, ``instances`` and ``runtime`` stages are checked with the
converters. Here, where a ``graph`` stage is known to fail at per-block validation only (all its
listed errors are ``PM_*`` and complete), parse + validate must give those errors already.
"""

from __future__ import annotations

from typing import Any

import pytest

from roboconf.dsl.blocks import Blank, Block, Comment, Holder, HolderKind, Import, Property
from roboconf.dsl.exports import parse_exports
from roboconf.dsl.lexer import (
    is_blank_line,
    is_comment_line,
    merge_blocks,
    read_lines,
    recognize_import,
    recognize_property,
    split_inline_comment,
)
from roboconf.dsl.parser import parse
from roboconf.dsl.validator import validate_block, validate_definition, validate_property
from roboconf.dsl.writer import write
from roboconf.errors import Diagnostic
from tests.conformance import corpus

PARSE_STAGES = ("parse", "parse_block")


def _codes(diagnostics: list[Diagnostic]) -> list[str]:
    return [d.code.name for d in diagnostics]


def _read(key: str) -> str:
    return (corpus.root() / "dsl" / key).read_text(encoding="utf-8")


def _is_dsl(entry: dict[str, Any]) -> bool:
    return bool(entry["kind"] != "descriptor")


def _stage_of(stages: tuple[str, ...]) -> Any:
    def predicate(key: str, entry: dict[str, Any]) -> bool:
        named = {e["stage"] for e in entry["errors"]} | set(entry.get("error_count", {}))
        return _is_dsl(entry) and bool(named & set(stages))

    return predicate


def _fact(name: str) -> Any:
    return lambda key, entry: name in entry.get("facts", {})


def assert_stage(diagnostics: list[Diagnostic], entry: dict[str, Any], stage: str) -> None:
    """Compare with ``error_count``, the listed codes and lines, and their order if asserted."""
    listed = [e for e in entry["errors"] if e["stage"] == stage]
    found = [(d.code.name, d.line) for d in diagnostics]
    count = entry.get("error_count", {}).get(stage)
    if count is not None:
        assert len(found) == count, found
    remaining = list(found)
    for error in listed:
        match = next(
            (f for f in remaining if f[0] == error["code"] and error["line"] in (None, f[1])),
            None,
        )
        assert match is not None, f"{error['code']} at line {error['line']} not in {found}"
        remaining.remove(match)
    if entry.get("ordered"):
        expected = [e["code"] for e in listed]
        assert [code for code, _ in found if code in expected] == expected


# -- line-level tables -----------------------------------------------------------------------


@pytest.mark.parametrize("key, entry", corpus.entries("exports_syntax"))
def test_exports_value_is_read_as_the_corpus_says(key: int, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    exports, problems = parse_exports(entry["input"])
    assert exports == entry["expected"]
    assert _codes(problems) == ([entry["error"]] if entry["error"] else [])
    if "error_variable" in entry:
        assert problems[0].details["variable"] == entry["error_variable"]


@pytest.mark.parametrize("key, entry", corpus.entries("property_lines"))
def test_property_line_is_recognized_as_the_corpus_says(key: int, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    found = recognize_property(entry["line"])
    assert (found is not None) == entry["recognized"]
    if found is None:
        return
    codes = [p.code.name for p in found.problems]
    assert (
        codes == entry["errors"]
        if entry.get("ordered")
        else sorted(codes) == sorted(entry["errors"])
    )
    if "name_lower" in entry:
        assert found.name.lower() == entry["name_lower"]
    if "inline_comment" in entry:
        assert (found.inline_comment or None) == entry["inline_comment"]


@pytest.mark.parametrize("key, entry", corpus.entries("import_lines"))
def test_import_line_is_recognized_as_the_corpus_says(key: int, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    found = recognize_import(entry["line"])
    assert (found is not None) == entry["recognized"]
    if found is None:
        return
    assert [p.code.name for p in found.problems] == entry["errors"]
    if entry.get("uri_is_trimmed_part_of_line"):
        assert found.uri == found.uri.strip()
        assert found.uri and found.uri in entry["line"]
    if "inline_comment" in entry:
        assert (found.inline_comment or None) == entry["inline_comment"]


@pytest.mark.parametrize("key, entry", corpus.entries("comment_lines"))
def test_comment_line_is_recognized(key: int, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    assert is_comment_line(entry["line"]) == entry["is_comment"]


@pytest.mark.parametrize("key, entry", corpus.entries("blank_lines"))
def test_blank_line_is_recognized(key: int, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    assert is_blank_line(entry["line"]) == entry["is_blank"]


@pytest.mark.parametrize("key, entry", corpus.entries("inline_comment_split"))
def test_inline_comment_is_split_from_code(key: int, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    assert split_inline_comment(entry["line"]) == (entry["code"], entry["comment"])


def test_lines_are_read_numbered_from_one_without_carriage_returns() -> None:
    entry: Any = corpus.expectations().get("line_reading")
    corpus.require(entry)
    assert read_lines(entry["input"]) == [tuple(pair) for pair in entry["lines"]]


_BLOCK_OF_TYPE: dict[str, Block] = {
    "IMPORT": Import(uri="file.graph"),
    "PROPERTY": Property(name="name", value="value"),
    "COMMENT": Comment(content="# comment"),
    "BLANK": Blank(content=""),
}


def _type_of(block: Block) -> str:
    return next(t for t, b in _BLOCK_OF_TYPE.items() if type(b) is type(block))


@pytest.mark.parametrize("key, entry", corpus.entries("block_merging"))
def test_neighbouring_comments_and_blanks_are_merged(key: int, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    merged = merge_blocks(_BLOCK_OF_TYPE[t] for t in entry["blocks"])
    assert [_type_of(b) for b in merged] == entry["merged"]


@pytest.mark.parametrize("key, entry", corpus.entries("property_values"))
def test_lone_property_is_validated(key: int, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    problems = validate_property(entry["property"], entry["value"])
    assert _codes(problems) == entry["errors"]
    if "error_variable" in entry:
        assert problems[0].details["variable"] == entry["error_variable"]


_HOLDER_KIND = {kind.value: kind for kind in HolderKind}


def _block_of(spec: dict[str, Any]) -> Block:
    kind = spec["type"]
    if kind == "IMPORT":
        return Import(uri=spec["uri"])
    if kind == "BLANK":
        return Blank(content=spec["content"])
    if kind == "COMMENT":
        return Comment(content=spec["content"])
    properties = tuple(Property(name=n, value=v) for n, v in spec["properties"])
    return Holder(kind=_HOLDER_KIND[kind], name=spec["name"], blocks=properties)


@pytest.mark.parametrize("key, entry", corpus.entries("block_validation"))
def test_block_is_validated(key: int, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    assert _codes(validate_block(_block_of(entry["block"]))) == entry["errors"]


# -- dsl/ files ------------------------------------------------------------------------------


@pytest.mark.parametrize("key, entry", corpus.entries("dsl", _stage_of(PARSE_STAGES)))
def test_file_parses_with_the_expected_errors(key: str, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    definition = parse(_read(key), key)
    for stage in PARSE_STAGES:
        if stage in entry.get("error_count", {}) or any(
            e["stage"] == stage for e in entry["errors"]
        ):
            found = list(definition.diagnostics)
            if stage == "parse_block":  # the Java test read one block: compare severe errors
                found = [d for d in found if d.is_error]
            assert_stage(found, entry, stage)


@pytest.mark.parametrize("key, entry", corpus.entries("dsl", _stage_of(("validate",))))
def test_file_validates_with_the_expected_errors(key: str, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    assert_stage(validate_definition(parse(_read(key), key)), entry, "validate")


def _graph_fails_at_block_validation(key: str, entry: dict[str, Any]) -> bool:
    listed = [e for e in entry["errors"] if e["stage"] == "graph"]
    count = entry.get("error_count", {}).get("graph")
    pm_only = bool(listed) and all(e["code"].startswith("PM_") for e in listed)
    return _is_dsl(entry) and (
        (pm_only and count == len(listed)) or "graph_error_codes_all_in" in entry["facts"]
    )


@pytest.mark.parametrize("key, entry", corpus.entries("dsl", _graph_fails_at_block_validation))
def test_graph_errors_of_block_validation_are_found_before_conversion(
    key: str, entry: dict[str, Any]
) -> None:
    corpus.require(entry)
    definition = parse(_read(key), key)
    found = list(definition.diagnostics) + validate_definition(definition)
    assert_stage(found, entry, "graph")
    allowed = entry["facts"].get("graph_error_codes_all_in")
    if allowed is not None:
        assert set(_codes(found)) <= set(allowed)


@pytest.mark.parametrize("key, entry", corpus.entries("dsl", lambda k, e: e.get("round_trip")))
def test_file_is_written_back_as_it_was_read(key: str, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    text = _read(key).replace("\r", "")
    assert write(parse(text, key)) == text
    assert "#" not in write(parse(text, key), comments=False)
    assert "#" not in write(parse(text, key, keep_comments=False))


@pytest.mark.parametrize("key, entry", corpus.entries("dsl", _fact("file_type")))
def test_file_type_is_recognized(key: str, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    assert parse(_read(key), key).kind.value == entry["facts"]["file_type"]


_PARSE_BLOCK_KIND = {
    "component": HolderKind.COMPONENT,
    "facet": HolderKind.FACET,
    "instance": HolderKind.INSTANCEOF,
}


@pytest.mark.parametrize("key, entry", corpus.entries("dsl", _fact("parse_block_type")))
def test_file_starts_with_the_block_the_java_test_read(key: str, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    first = parse(_read(key), key).blocks[0]
    assert isinstance(first, Holder)
    assert first.line == 1
    assert first.kind is _PARSE_BLOCK_KIND[entry["facts"]["parse_block_type"]]


def _count_instance_blocks(blocks: tuple[Block, ...]) -> int:
    return sum(
        1 + _count_instance_blocks(b.blocks)
        for b in blocks
        if isinstance(b, Holder) and b.kind is HolderKind.INSTANCEOF
    )


@pytest.mark.parametrize("key, entry", corpus.entries("dsl", _fact("instance_block_count")))
def test_every_instance_block_is_read(key: str, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    definition = parse(_read(key), key, keep_comments=False)
    assert _count_instance_blocks(definition.blocks) == entry["facts"]["instance_block_count"]


def _tree(blocks: tuple[Block, ...], expected: list[dict[str, Any]]) -> None:
    assert len(blocks) == len(expected), blocks
    for block, spec in zip(blocks, expected, strict=True):
        if isinstance(block, Holder):
            assert spec["type"] == block.kind.value
            assert block.name == spec["name"]
            _tree(block.blocks, spec.get("inner", []))
        elif isinstance(block, Property):
            assert spec["type"] == "PROPERTY"
            assert (block.name, block.value) == (spec["name"], spec["value"])
            if "has_inline_comment" in spec:
                assert bool(block.inline_comment) == spec["has_inline_comment"]
        else:
            assert spec["type"] == _type_of(block)


@pytest.mark.parametrize("key, entry", corpus.entries("dsl", _fact("block_tree")))
def test_file_gives_the_expected_block_tree(key: str, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    _tree(parse(_read(key), key).blocks, entry["facts"]["block_tree"])


def test_corpus_stages_of_this_layer_are_all_covered() -> None:
    """Guard: a new corpus stage or dsl fact here would otherwise go unchecked silently."""
    data: Any = corpus.expectations().get("dsl")
    corpus.require(data)
    stages = {e["stage"] for entry in data.values() for e in entry["errors"]}
    stages.update(s for entry in data.values() for s in entry.get("error_count", {}))
    converters = {"graph", "graph_flexible", "instances", "runtime"}
    assert stages <= {*PARSE_STAGES, "validate", *converters}
