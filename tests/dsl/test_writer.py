"""The writer: canonical syntax, comments kept or dropped, and round trips."""

from __future__ import annotations

import pytest

from roboconf.dsl.blocks import (
    Blank,
    Comment,
    FileDefinition,
    FileKind,
    Holder,
    HolderKind,
    Import,
    Property,
)
from roboconf.dsl.parser import parse
from roboconf.dsl.writer import write, write_blocks


def test_blocks_built_by_program_are_written_canonically() -> None:
    vm = Holder(
        kind=HolderKind.INSTANCEOF,
        name="VM",
        blocks=(
            Property(name="name", value="vm 1", inline_comment="\t# the VM"),
            Holder(
                kind=HolderKind.INSTANCEOF,
                name="Tomcat",
                blocks=(Property(name="name", value="tomcat"),),
            ),
        ),
    )
    blocks = (Comment(content="# header"), Import(uri="other.instances"), vm, Blank(content=""))
    assert write_blocks(blocks) == (
        "# header\n"
        "import other.instances;\n"
        "instance of VM {\n"
        "\tname: vm 1;\t# the VM\n"
        "\tinstance of Tomcat {\n"
        "\t\tname: tomcat;\n"
        "\t}\n"
        "}\n"
    )


def test_facet_and_component_keywords() -> None:
    blocks = (
        Holder(kind=HolderKind.FACET, name="F", open_comment=" # f"),
        Holder(kind=HolderKind.COMPONENT, name="C", close_comment=" # c"),
    )
    assert write_blocks(blocks) == "facet F { # f\n}\nC {\n} # c"


def test_without_comments_no_comment_survives() -> None:
    text = "# doc\nA { # o\n\t# inner\n\tinstaller: x; # i\n} # c\nimport b; # i\n"
    written = write(parse(text), comments=False)
    assert written == "A {\n\tinstaller: x;\n}\nimport b;\n"


ROUND_TRIPS = [
    pytest.param("A {\n\tinstaller: target;\n}\n", id="a component"),
    pytest.param("A {\n}", id="no final newline"),
    pytest.param("A {\n}\n\n\n", id="several final blank lines"),
    pytest.param("", id="an empty text"),
    pytest.param("\n", id="a single newline"),
    pytest.param("  # indented comment\n\t\n", id="comments and blanks keep their spaces"),
    pytest.param(
        "instance of VM {\n\tname: VM ;\t# keep the space\n\t\n\tinstance of A {\n"
        "\t\tname: a;\n\t}   \n}\n",
        id="instances with trailing spaces",
    ),
    pytest.param('A {\n\texports: msg = "a; b # c";#\n}\n', id="quoted semicolons and hashes"),
]


@pytest.mark.parametrize("text", ROUND_TRIPS)
def test_canonical_text_is_written_back_byte_for_byte(text: str) -> None:
    assert write(parse(text)) == text


def test_written_definition_reads_back_to_the_same_blocks() -> None:
    definition = FileDefinition(
        file="x",
        kind=FileKind.GRAPH,
        blocks=(
            Holder(kind=HolderKind.COMPONENT, name="A", blocks=(Property(name="a", value="b"),)),
        ),
    )
    again = parse(write(definition))
    assert again.diagnostics == ()
    (holder,) = again.blocks
    assert isinstance(holder, Holder)
    assert holder.properties()[0].value == "b"
