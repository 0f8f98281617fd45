"""The parser: block structure, every ``P_*`` code with its line, and resynchronisation."""

from __future__ import annotations

import pytest

from roboconf.dsl.blocks import (
    Blank,
    Comment,
    FileKind,
    Holder,
    HolderKind,
    Import,
    Property,
    Unrecognized,
)
from roboconf.dsl.parser import parse, parse_ignoring_comments, truncate_at_first_error
from roboconf.errors import Code


def _errors(text: str) -> list[tuple[str, int | None]]:
    return [(d.code.name, d.line) for d in parse(text).diagnostics]


# Each row: a snippet, and every diagnostic it must give (code, line), in order.
P_CODES = [
    pytest.param(
        "A {\n\tinstaller: target;;\n}\n",
        [("P_ONE_BLOCK_PER_LINE", 2)],
        id="a second semicolon after a property is one block too many",
    ),
    pytest.param(
        "import a.graph; import b.graph;\n",
        [("P_ONE_BLOCK_PER_LINE", 1)],
        id="two imports on one line are one block too many",
    ),
    pytest.param(
        "A {\n\tinstaller: target\n}\n",
        [("P_PROPERTY_ENDS_WITH_SEMI_COLON", 2)],
        id="a property without its semicolon is reported on its line",
    ),
    pytest.param(
        "import a.graph\n",
        [("P_IMPORT_ENDS_WITH_SEMI_COLON", 1)],
        id="an import without its semicolon is reported",
    ),
    pytest.param(
        "A\n\tinstaller: target;\n}\n",
        [("P_O_C_BRACKET_MISSING", 1)],
        id="a declaration without its opening bracket is reported once",
    ),
    pytest.param(
        "facet F { oops\n}\n",
        [("P_O_C_BRACKET_EXTRA_CHARACTERS", 1)],
        id="text after the opening bracket is reported",
    ),
    pytest.param(
        "A {\n\tinstaller: target;\n",
        [("P_C_C_BRACKET_MISSING", 3)],
        id="a block left open is reported at the line after the last",
    ),
    pytest.param(
        "A {\n\tinstaller: target;",
        [("P_C_C_BRACKET_MISSING", 3)],
        id="a block left open without a final newline is reported at the same line",
    ),
    pytest.param(
        "A {\n} oops\n",
        [("P_C_C_BRACKET_EXTRA_CHARACTERS", 2)],
        id="text after the closing bracket is reported",
    ),
    pytest.param(
        "installer: target;\n",
        [("P_UNRECOGNIZED_BLOCK", 1)],
        id="a property outside any block is unrecognized",
    ),
    pytest.param(
        "}\n",
        [("P_UNRECOGNIZED_BLOCK", 1)],
        id="a closing bracket that closes nothing is unrecognized",
    ),
    pytest.param(
        "A {\n\tinstaller = target;\n}\n",
        [("P_INVALID_PROPERTY", 2)],
        id="a line of a component that is no property is invalid",
    ),
    pytest.param(
        "instance of A {\n\tname = a;\n}\n",
        [("P_INVALID_PROPERTY_OR_INSTANCE", 2)],
        id="a line of an instance that is no property nor instance is invalid",
    ),
    pytest.param(
        "A {\n}\ninstance of A {\n\tname: a;\n}\n",
        [("P_INVALID_FILE_TYPE", 3)],
        id="instances after components make an invalid file type",
    ),
    pytest.param(
        "# only a comment\n\n",
        [("P_EMPTY_FILE", 1)],
        id="a file of comments and blank lines is empty",
    ),
    pytest.param("", [("P_EMPTY_FILE", 1)], id="an empty text is an empty file"),
]


@pytest.mark.parametrize("text, expected", P_CODES)
def test_parse_reports_each_problem_at_its_line(text: str, expected: list[tuple[str, int]]) -> None:
    assert _errors(text) == expected


def test_empty_file_is_a_warning_and_other_parse_problems_are_errors() -> None:
    assert not parse("# nothing\n").diagnostics[0].is_error
    assert parse("A {\n").diagnostics[0].is_error


def test_diagnostics_carry_the_file_a_column_and_an_actionable_message() -> None:
    diagnostic = parse("A {\n\tinstaller: target\n}\n", "graph/main.graph").diagnostics[0]
    assert diagnostic.file == "graph/main.graph"
    assert diagnostic.column == len("\tinstaller: target") + 1
    assert "installer" in diagnostic.message and "';'" in diagnostic.message


KINDS = [
    pytest.param("A {\n}\n", FileKind.GRAPH, id="a component makes a graph"),
    pytest.param("facet F {\n}\n", FileKind.GRAPH, id="a facet makes a graph"),
    pytest.param("import a.graph;\nA {\n}\n", FileKind.GRAPH, id="imports and a component"),
    pytest.param("instance of A {\n\tname: a;\n}\n", FileKind.INSTANCE, id="an instance"),
    pytest.param("import a.graph;\n", FileKind.AGGREGATOR, id="only imports aggregate"),
    pytest.param("# nothing\n", FileKind.EMPTY, id="only comments is empty"),
    pytest.param(" [ text ] \n\n", FileKind.UNDETERMINED, id="only unrecognized lines"),
    pytest.param(
        "facet F {\n}\ninstance of A {\n}\n",
        FileKind.UNDETERMINED,
        id="mixed kinds are undetermined",
    ),
]


@pytest.mark.parametrize("text, kind", KINDS)
def test_file_kind_follows_its_top_level_blocks(text: str, kind: FileKind) -> None:
    assert parse(text).kind is kind


def test_component_declaration_with_everything_is_read_into_blocks() -> None:
    text = (
        "# Doc of Tomcat\n"
        "Tomcat {  # open\n"
        "\tinstaller: script;\n"
        '\texports: ip, msg = "a; b";\t# exported\n'
        "\n"
        "\t# inner comment\n"
        "}  # close\n"
    )
    definition = parse(text)
    assert definition.diagnostics == ()
    doc, holder, final = definition.blocks
    assert doc == Comment(content="# Doc of Tomcat", line=1)
    assert final == Blank(content="", line=8)
    assert isinstance(holder, Holder)
    assert (holder.kind, holder.name, holder.line, holder.end_line) == (
        HolderKind.COMPONENT,
        "Tomcat",
        2,
        7,
    )
    assert (holder.open_comment, holder.close_comment) == ("  # open", "  # close")
    assert holder.blocks == (
        Property(name="installer", value="script", line=3),
        Property(name="exports", value='ip, msg = "a; b"', inline_comment="\t# exported", line=4),
        Blank(content="", line=5),
        Comment(content="\t# inner comment", line=6),
    )


KEYWORDS = [
    pytest.param("FACET F {\n}\n", HolderKind.FACET, "F", id="facet is case-insensitive"),
    pytest.param("Instance Of A {\n}\n", HolderKind.INSTANCEOF, "A", id="instance of too"),
    pytest.param(
        "instance   of    A    {\n}\n", HolderKind.INSTANCEOF, "A", id="spaces are trimmed"
    ),
    pytest.param("facetA {\n}\n", HolderKind.COMPONENT, "facetA", id="facetA is a component"),
    pytest.param(
        "InstanceOfA {\n}\n", HolderKind.COMPONENT, "InstanceOfA", id="InstanceOfA is a component"
    ),
    pytest.param("hello world {\n}\n", HolderKind.COMPONENT, "hello world", id="spaced names"),
]


@pytest.mark.parametrize("text, kind, name", KEYWORDS)
def test_declaration_keywords(text: str, kind: HolderKind, name: str) -> None:
    holder = parse(text).blocks[0]
    assert isinstance(holder, Holder)
    assert (holder.kind, holder.name) == (kind, name)


def test_import_keyword_is_case_insensitive_and_keeps_its_uri() -> None:
    assert parse("IMPORT some/file.graph ;\n").blocks[0] == Import(
        uri="some/file.graph", inline_comment="", line=1
    )


def test_property_value_keeps_a_trailing_space_for_instance_names() -> None:
    holder = parse("instance of VM {\n\tname: VM ;\n}\n").blocks[0]
    assert isinstance(holder, Holder)
    assert holder.properties()[0].value == "VM "


def test_hash_inside_a_quoted_value_is_no_comment() -> None:
    holder = parse('A {\n\texports: msg = "# not a comment";  # a comment\n}\n').blocks[0]
    assert isinstance(holder, Holder)
    prop = holder.properties()[0]
    assert (prop.value, prop.inline_comment) == ('msg = "# not a comment"', "  # a comment")


def test_nested_instances_are_read_as_a_tree() -> None:
    text = "instance of VM {\n\tname: vm;\n\tinstance of App {\n\t\tname: app;\n\t}\n}\n"
    (vm, _final) = parse(text).blocks
    assert isinstance(vm, Holder)
    (app,) = vm.holders()
    assert (app.name, app.line, app.end_line, app.properties()[0].value) == ("App", 3, 5, "app")


def test_comments_are_dropped_when_ignored() -> None:
    text = "# doc\n\nA { # open\n\t# inner\n\tinstaller: x; # inline\n} # close\n\n# end\n"
    definition = parse_ignoring_comments(text)
    assert definition == parse(text, keep_comments=False)
    holder = definition.blocks[1]
    assert isinstance(holder, Holder)
    assert (holder.open_comment, holder.close_comment) == ("", "")
    assert holder.blocks == (Property(name="installer", value="x", line=5),)
    assert definition.blocks[0] == Blank(content="", line=2)
    assert definition.blocks[2] == Blank(content="\n", line=7)


RECOVERY = [
    pytest.param(
        "facet F {\n\tchildren: A;\n} facet G {\n\texports: x;\n}\n",
        ["F", "G"],
        [("P_C_C_BRACKET_EXTRA_CHARACTERS", 3)],
        id="a declaration after a closing bracket is still opened",
    ),
    pytest.param(
        "A {\n\tinstaller: x;\nB {\n\tinstaller: y;\n}\n",
        ["A", "B"],
        [("P_C_C_BRACKET_MISSING", 3)],
        id="a declaration inside a component closes the component",
    ),
    pytest.param(
        "A {\n\tbad line\n\tinstaller: x;\n}\nB {\n\tinstaller; y\n}\n",
        ["A", "B"],
        [("P_INVALID_PROPERTY", 2), ("P_INVALID_PROPERTY", 6)],
        id="errors in several blocks are all reported",
    ),
    pytest.param(
        "garbage\nA {\n}\n",
        ["A"],
        [("P_O_C_BRACKET_MISSING", 1)],
        id="a lone broken declaration opens no block when no body follows",
    ),
    pytest.param(
        "[ some text ]\nA {\n}\n",
        ["A"],
        [("P_UNRECOGNIZED_BLOCK", 1)],
        id="text that is no name is unrecognized, not a declaration",
    ),
    pytest.param(
        "}\nA {\n}\n}\n",
        ["A"],
        [("P_UNRECOGNIZED_BLOCK", 1), ("P_UNRECOGNIZED_BLOCK", 4)],
        id="stray closing brackets are skipped",
    ),
]


@pytest.mark.parametrize("text, names, errors", RECOVERY)
def test_parser_resynchronises_after_an_error(
    text: str, names: list[str], errors: list[tuple[str, int]]
) -> None:
    definition = parse(text)
    assert [h.name for h in definition.holders()] == names
    assert [(d.code.name, d.line) for d in definition.diagnostics] == errors


def test_truncation_keeps_what_precedes_the_first_error_as_roboconf_does() -> None:
    text = "A {\n\tinstaller: x;\n\timports: \n\nB {\n}\n"
    definition = truncate_at_first_error(parse(text))
    (holder,) = definition.blocks
    assert isinstance(holder, Holder)
    assert holder.name == "A"
    assert holder.properties() == (Property(name="installer", value="x", line=2),)


def test_truncation_changes_nothing_without_errors() -> None:
    definition = parse("A {\n}\n")
    assert truncate_at_first_error(definition) is definition


def test_carriage_returns_are_ignored() -> None:
    assert parse("A {\r\n\tinstaller: x;\r\n}\r\n") == parse("A {\n\tinstaller: x;\n}\n")


def test_diagnostic_codes_are_parsing_codes() -> None:
    text = "x\n}\nA {\n\ty\n\tz: 1\ninstance of B {\n"
    for diagnostic in parse(text).diagnostics:
        assert diagnostic.code.name.startswith("P_")
        assert diagnostic.line is not None
        assert diagnostic.code in Code


def test_byte_order_mark_is_dropped() -> None:
    assert parse("\ufeffA {\n}\n") == parse("A {\n}\n")


def test_line_problems_carry_the_offending_text() -> None:
    (problem,) = parse("A {\n\tinstaller: x\n}\n").diagnostics
    assert problem.details == {"text": "installer: x"}


UNRECOGNIZED = [
    pytest.param("[ not supported ]", 1, id="a line of text"),
    pytest.param("  \n\n [ not supported ] \n\n ", 3, id="a line of text among blank lines"),
    pytest.param("  \n\n ip \n\n ", 3, id="a single word that opens nothing"),
    pytest.param("}", 1, id="a closing bracket that closes nothing"),
]


@pytest.mark.parametrize("text, line", UNRECOGNIZED)
def test_unreadable_line_is_kept_verbatim_as_an_unrecognized_block(text: str, line: int) -> None:
    definition = parse(text)
    (block,) = [b for b in definition.blocks if isinstance(b, Unrecognized)]
    assert block == Unrecognized(content=text.split("\n")[line - 1], line=line)
    assert definition.kind is FileKind.UNDETERMINED


def test_unreadable_line_inside_a_block_is_kept_in_that_block() -> None:
    (holder, _final) = parse("A {\n\tinstaller = x;\n}\n").blocks
    assert isinstance(holder, Holder)
    assert holder.blocks == (Unrecognized(content="\tinstaller = x;", line=2),)
