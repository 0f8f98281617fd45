"""Line-level recognition of the Roboconf DSL: one construct per line.

Each function looks at one line and says what it is (comment, blank, property, import,
declaration) together with the ``P_*`` problems of that line. The parser strings them together;
the conformance tables (``comment_lines``, ``property_lines``, ...) test them one by one.

``#`` starts an in-line comment, except inside a ``"..."`` value (an improvement over Roboconf,
which cuts quoted values at ``#``). A ``;`` inside ``"..."`` is protected as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from roboconf.dsl.blocks import Blank, Block, Comment, HolderKind
from roboconf.errors import Code

# A quoted run or one of the characters that matter outside quotes.
_HASH_OR_QUOTED = re.compile(r'"[^"]*"|#')
_SEMI_OR_QUOTED = re.compile(r'"[^"]*"|;')
_PROPERTY = re.compile(r"\s*([^\s:]+)\s*:")
# The usual property line, read at once (groups: name, value, in-line comment): no quote, one
# final ';', maybe an in-line comment. For hot loops; recognize_property reads any line.
PLAIN_PROPERTY = re.compile(r"\s*([^\s:#]+)\s*:\s*([^;\"#]*);(\s*(?:#.*)?)", re.DOTALL)
_IMPORT = re.compile(r"\s*import(?=[\s;]|$)", re.IGNORECASE)
_DECLARATION = re.compile(
    r"(\s*)(?:(facet|instance\s+of)(?=[\s{]|$))?([^{]*)(\{?)(.*)", re.IGNORECASE | re.DOTALL
)
# The usual declaration, read at once (groups: keyword, name, what follows '{'). For hot loops.
PLAIN_DECLARATION = re.compile(
    r"\s*(?:(facet|instance of) )?([\w.-]+) \{(\s*(?:#.*)?)", re.IGNORECASE | re.DOTALL
)
_KIND_OF_KEYWORD = {"f": HolderKind.FACET, "i": HolderKind.INSTANCEOF}
# What a declaration starts with, by kind of holder (the writer's spelling).
DECLARATION_KEYWORD = {
    HolderKind.COMPONENT: "",
    HolderKind.FACET: "facet ",
    HolderKind.INSTANCEOF: "instance of ",
}
# Characters that cannot appear in the name part of a declaration.
_NOT_IN_DECLARATION = re.compile(r"[:;}]")
_BARE_NAME = re.compile(r"[\w.-]+")


def read_lines(text: str) -> list[tuple[int, str]]:
    """The lines a line reader returns, numbered from 1: ``\\r`` dropped, and nothing after
    the newline that ends the text."""
    lines = split_lines(text)
    if lines and lines[-1] == "":
        lines.pop()
    return list(enumerate(lines, 1))


def split_lines(text: str) -> list[str]:
    """``text`` split on ``\\n`` with ``\\r`` dropped; a text that ends with a newline ends
    with an empty line (so that joining the lines with ``\\n`` gives the text back)."""
    text = text.replace("\r", "")
    return text.split("\n") if text else []


def is_blank_line(line: str) -> bool:
    return not line.strip()


def is_comment_line(line: str) -> bool:
    return line.lstrip().startswith("#")


def split_inline_comment(line: str) -> tuple[str, str]:
    """``(code, comment)`` with ``code + comment == line``.

    The comment starts at the first ``#`` outside a quoted value and takes the white space
    before it along, so that ``code`` ends with the last significant character.
    """
    if "#" not in line:
        return line, ""
    for match in _HASH_OR_QUOTED.finditer(line):
        if match.group() == "#":
            code = line[: match.start()].rstrip()
            return code, line[len(code) :]
    return line, ""


def unprotected_semicolons(text: str) -> list[int]:
    """Positions of the ``;`` of ``text`` that are not inside a ``"..."`` value."""
    if '"' not in text:
        return [i for i, char in enumerate(text) if char == ";"]
    return [m.start() for m in _SEMI_OR_QUOTED.finditer(text) if m.group() == ";"]


class LineProblem(NamedTuple):
    """A ``P_*`` problem found on one line; ``column`` counts from 1."""

    code: Code
    column: int
    message: str


class PropertyLine(NamedTuple):
    """A line read as ``name: value;``; ``inline_comment`` is what followed the ``;``."""

    name: str
    value: str
    inline_comment: str
    problems: tuple[LineProblem, ...] = ()


class ImportLine(NamedTuple):
    uri: str
    inline_comment: str
    problems: tuple[LineProblem, ...] = ()


class DeclarationLine(NamedTuple):
    """``[facet |instance of ]NAME {`` — ``open_comment`` is what followed the ``{``."""

    kind: HolderKind
    name: str
    has_bracket: bool
    open_comment: str
    problems: tuple[LineProblem, ...] = ()


def recognize_property(line: str) -> PropertyLine | None:
    """Read ``line`` as a property, or return ``None`` when it does not look like one."""
    plain = PLAIN_PROPERTY.fullmatch(line)
    if plain is not None:
        name, value, inline_comment = plain.group(1, 2, 3)
        return PropertyLine(name=name, value=value, inline_comment=inline_comment)
    code, comment = split_inline_comment(line)
    match = _PROPERTY.match(code)
    if match is None:
        return None
    name, start = match.group(1), match.end()
    rest = code[start:]
    semicolons = unprotected_semicolons(rest)
    significant = rest.rstrip()
    problems: list[LineProblem] = []
    if not semicolons or semicolons[-1] != len(significant) - 1:
        problems.append(
            LineProblem(
                code=Code.P_PROPERTY_ENDS_WITH_SEMI_COLON,
                column=start + len(significant) + 1,
                message=f"the property '{name}' must end with ';': write '{name}: value;'",
            )
        )
        if not semicolons:
            return PropertyLine(
                name=name, value=rest.strip(), inline_comment=comment, problems=tuple(problems)
            )
    if len(semicolons) > 1 or problems:
        problems.append(
            LineProblem(
                code=Code.P_ONE_BLOCK_PER_LINE,
                column=start + semicolons[0] + 1,
                message=(
                    f"the property '{name}' is followed by more text after its ';': write one "
                    "property per line and quote values that contain ';' (\"a;b\")"
                ),
            )
        )
    first = semicolons[0]
    return PropertyLine(
        name=name,
        value=rest[:first].lstrip(),
        inline_comment=line[start + first + 1 :],
        problems=tuple(problems),
    )


def recognize_import(line: str) -> ImportLine | None:
    """Read ``line`` as ``import path;``, or return ``None`` when it is no import."""
    code, comment = split_inline_comment(line)
    match = _IMPORT.match(code)
    if match is None:
        return None
    start = match.end()
    rest = code[start:]
    semicolon = rest.find(";")
    if semicolon < 0:
        problem = LineProblem(
            code=Code.P_IMPORT_ENDS_WITH_SEMI_COLON,
            column=len(code.rstrip()) + 1,
            message=f"the import of '{rest.strip()}' must end with ';'",
        )
        return ImportLine(uri=rest.strip(), inline_comment=comment, problems=(problem,))
    uri = rest[:semicolon].strip()
    after = rest[semicolon + 1 :]
    problems: tuple[LineProblem, ...] = ()
    if after.strip():
        problems = (
            LineProblem(
                code=Code.P_ONE_BLOCK_PER_LINE,
                column=start + semicolon + 2,
                message=f"only a comment may follow the import of '{uri}': move "
                f"'{after.strip()}' to its own line",
            ),
        )
    return ImportLine(uri=uri, inline_comment=line[start + semicolon + 1 :], problems=problems)


def recognize_declaration(line: str) -> DeclarationLine | None:
    """Read ``line`` as the opening of a component, facet or instance block.

    A line without ``{`` is taken as a declaration that misses its bracket only when it has a
    keyword or is a single name-like word (``component``, not ``[ some text ]``).
    """
    plain = PLAIN_DECLARATION.fullmatch(line)
    if plain is not None:
        keyword, name, open_comment = plain.group(1, 2, 3)
        kind = _KIND_OF_KEYWORD[keyword[0].lower()] if keyword else HolderKind.COMPONENT
        return DeclarationLine(kind=kind, name=name, has_bracket=True, open_comment=open_comment)
    code, comment = split_inline_comment(line)
    match = _DECLARATION.fullmatch(code)
    if match is None or not code.strip():
        return None
    keyword, head, bracket, extra = match.group(2, 3, 4, 5)
    kind = _KIND_OF_KEYWORD[keyword[0].lower()] if keyword else HolderKind.COMPONENT
    name = head.strip()
    if keyword is None and (
        _NOT_IN_DECLARATION.search(head) or not (bracket or _BARE_NAME.fullmatch(name))
    ):
        return None
    if not bracket:
        problem = LineProblem(
            code=Code.P_O_C_BRACKET_MISSING,
            column=len(code.rstrip()) + 1,
            message=f"the declaration of '{name}' must end with '{{': write '{code.strip()} {{'",
        )
        return DeclarationLine(
            kind=kind, name=name, has_bracket=False, open_comment=comment, problems=(problem,)
        )
    problems: tuple[LineProblem, ...] = ()
    if extra.strip():
        problems = (
            LineProblem(
                code=Code.P_O_C_BRACKET_EXTRA_CHARACTERS,
                column=match.start(5) + len(extra) - len(extra.lstrip()) + 1,
                message=f"only a comment may follow '{{' in the declaration of '{name}': "
                f"remove '{extra.strip()}' or start it with '#'",
            ),
        )
    return DeclarationLine(
        kind=kind, name=name, has_bracket=True, open_comment=line[match.end(4) :], problems=problems
    )


def merge_blocks(blocks: Iterable[Block]) -> list[Block]:
    """Merge neighbouring comments (and neighbouring blank lines) into one block each."""
    merged: list[Block] = []
    for block in blocks:
        last = merged[-1] if merged else None
        if isinstance(block, Comment) and isinstance(last, Comment):
            merged[-1] = Comment(content=f"{last.content}\n{block.content}", line=last.line)
        elif isinstance(block, Blank) and isinstance(last, Blank):
            merged[-1] = Blank(content=f"{last.content}\n{block.content}", line=last.line)
        else:
            merged.append(block)
    return merged
