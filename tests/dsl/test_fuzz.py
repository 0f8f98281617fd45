"""Fuzzing of the text layer: whatever the text, parsing, validating and writing never raise, and
every diagnostic says where it is; a file that parses without problem is written back to the
same blocks.

The default run is quick; ``ROBOCONF_FUZZ_EXAMPLES=10000`` runs that many examples per test.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roboconf.dsl.blocks import Block, Comment, FileDefinition, Holder
from roboconf.dsl.parser import parse
from roboconf.dsl.validator import validate_definition
from roboconf.dsl.writer import write
from roboconf.errors import Code

EXAMPLES = int(os.environ.get("ROBOCONF_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# -- fragments, valid or not ------------------------------------------------------------------

NAMES = st.sampled_from(
    ["A", "vm", "Tomcat", "my-app", "x.y", "_f", "", "hello world", "1bad", "ça", "a{b", '"q"']
)
KEYWORDS = st.sampled_from(["", "facet ", "instance of ", "FACET ", "Instance  Of ", "facet"])
PROPERTY_NAMES = st.sampled_from(
    [
        "installer",
        "exports",
        "imports",
        "children",
        "facets",
        "extends",
        "name",
        "count",
        "data.x",
        "port",
        "Tomcat.port",
        "channels",
        "instance-state",
        "bad name",
        "",
        "#x",
    ]
)
VALUES = st.sampled_from(
    [
        "target",
        "ip, port = 8080",
        'msg = "a; b # c"',
        "A.x, B.* (optional)",
        "external C.y",
        "random[port] p",
        "Random[PORT] q, random[x] r",
        "",
        "3",
        "0",
        "vm 1 ",
        '"',
        ";",
        "#",
        'a = "x" y',
        "F, , G",
    ]
) | st.text(max_size=15)
COMMENTS = st.sampled_from(["", " # c", "\t#", "#x", " ", "  # }"])
INDENTS = st.sampled_from(["", "\t", "\t\t", "    "])
ENDINGS = st.sampled_from([";", "", ";;", "; x", " ;"])

DECLARATIONS = st.builds(
    lambda indent, keyword, name, comment, bracket: f"{indent}{keyword}{name}{bracket}{comment}",
    INDENTS,
    KEYWORDS,
    NAMES,
    COMMENTS,
    st.sampled_from([" {", "{", "", " { extra"]),
)
CLOSINGS = st.builds(
    lambda indent, rest: f"{indent}}}{rest}",
    INDENTS,
    COMMENTS | st.sampled_from([" x", " facet F {", " instance of A {", "}"]),
)
PROPERTIES = st.builds(
    lambda indent, name, separator, value, ending, comment: (
        f"{indent}{name}{separator}{value}{ending}{comment}"
    ),
    INDENTS,
    PROPERTY_NAMES,
    st.sampled_from([": ", ":", " : ", " = ", " "]),
    VALUES,
    ENDINGS,
    COMMENTS,
)
IMPORTS = st.builds(
    lambda keyword, uri, ending, comment: f"{keyword} {uri}{ending}{comment}",
    st.sampled_from(["import", "IMPORT", "imports"]),
    st.sampled_from(["a.graph", "", "dir/b.instances", "x y"]),
    ENDINGS,
    COMMENTS,
)
OTHER_LINES = st.sampled_from(["", "\t", "# comment", "  ## x", "{", "}", ";", "\r"])
GARBAGE = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)


def _text(lines: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda parts, end, crlf: ("\r\n" if crlf else "\n").join(parts) + end,
        st.lists(lines, max_size=40),
        st.sampled_from(["", "\n", "\n\n"]),
        st.booleans(),
    )


GRAPH_TEXT = _text(st.one_of(DECLARATIONS, CLOSINGS, PROPERTIES, IMPORTS, OTHER_LINES, GARBAGE))
INSTANCES_TEXT = _text(
    st.one_of(
        DECLARATIONS.map(lambda line: line.replace("facet", "instance of")),
        st.builds(lambda n, c: f"instance of {n} {{{c}", NAMES, COMMENTS),
        CLOSINGS,
        PROPERTIES,
        IMPORTS,
        OTHER_LINES,
        GARBAGE,
    )
)


def _check_text_layer(text: str) -> None:
    definition = parse(text, "fuzz.txt")
    problems = list(definition.diagnostics) + validate_definition(definition)
    for problem in problems:
        assert isinstance(problem.code, Code)
        assert problem.file == "fuzz.txt"
        assert problem.line is not None and problem.line >= 1
        assert problem.message
    written = write(definition)
    write(definition, comments=False)
    if not definition.diagnostics or definition.diagnostics[0].code is Code.P_EMPTY_FILE:
        _assert_round_trip(definition, written)


def _assert_round_trip(definition: FileDefinition, written: str) -> None:
    again = parse(written, definition.file)
    assert again.blocks == definition.blocks
    assert again.kind is definition.kind
    assert write(again) == written
    without = parse(write(definition, comments=False))
    assert not _has_comments(without.blocks)


def _has_comments(blocks: tuple[Block, ...]) -> bool:
    for block in blocks:
        if isinstance(block, Comment):
            return True
        if isinstance(block, Holder):
            if block.open_comment.strip() or block.close_comment.strip():
                return True
            if _has_comments(block.blocks):
                return True
        elif getattr(block, "inline_comment", "").strip():
            return True
    return False


@FUZZ
@given(GRAPH_TEXT)
def test_graph_like_text_never_breaks_the_text_layer(text: str) -> None:
    _check_text_layer(text)


@FUZZ
@given(INSTANCES_TEXT)
def test_instances_like_text_never_breaks_the_text_layer(text: str) -> None:
    _check_text_layer(text)


@FUZZ
@given(st.text(st.characters(blacklist_categories=["Cs"]), max_size=300))
def test_any_text_never_breaks_the_text_layer(text: str) -> None:
    _check_text_layer(text)


# -- valid files --------------------------------------------------------------------------------

VALID_NAMES = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_-]{0,8}", fullmatch=True)
VALID_VALUES = st.sampled_from(
    ["target", "ip, port = 8080", 'msg = "a; b # c"', "A.x, B.* (optional)", "vm 1 ", "3"]
)
LINE_COMMENTS = st.sampled_from(["", "\t# c", " #", "   "])


@st.composite
def _holder_lines(draw: st.DrawFn, depth: int, instances: bool) -> list[str]:
    indent = "\t" * depth
    keyword = "instance of " if instances else draw(st.sampled_from(["", "facet "]))
    lines = [f"{indent}{keyword}{draw(VALID_NAMES)} {{{draw(LINE_COMMENTS)}"]
    for _ in range(draw(st.integers(0, 4))):
        choice = draw(st.integers(0, 4 if instances and depth < 3 else 3))
        if choice == 0:
            lines.append(f"{indent}\t# inner comment")
        elif choice == 1:
            lines.append(draw(st.sampled_from(["", "\t", indent + "\t"])))
        elif choice == 4:
            lines.extend(draw(_holder_lines(depth + 1, instances)))
        else:
            name, value = draw(VALID_NAMES), draw(VALID_VALUES)
            lines.append(f"{indent}\t{name}: {value};{draw(LINE_COMMENTS)}")
    lines.append(f"{indent}}}{draw(LINE_COMMENTS)}")
    return lines


@st.composite
def _valid_file(draw: st.DrawFn, instances: bool) -> str:
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 5))):
        choice = draw(st.integers(0, 3))
        if choice == 0:
            lines.append(draw(st.sampled_from(["# doc", "", "  # indented", "\t"])))
        elif choice == 1:
            lines.append(f"import {draw(VALID_NAMES)}.graph;{draw(LINE_COMMENTS)}")
        else:
            lines.extend(draw(_holder_lines(0, instances)))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n"]))


@FUZZ
@given(st.booleans().flatmap(lambda instances: _valid_file(instances)))
def test_valid_file_is_written_back_to_the_same_text_and_blocks(text: str) -> None:
    definition = parse(text)
    assert [d.code for d in definition.diagnostics if d.is_error] == []
    written = write(definition)
    assert written == text
    _assert_round_trip(definition, written)
