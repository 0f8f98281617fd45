""":class:`FileDefinition` → text, in canonical Roboconf syntax.

Holders and properties are written canonically (tab indentation, ``name: value;``, one space
before ``{``); comments, blank lines, in-line comments and unrecognized lines are written as
they were read, so a canonical file read and written comes back byte for byte. The DM persists
instances with it.
"""

from __future__ import annotations

from collections.abc import Iterable

from roboconf.dsl.blocks import (
    Blank,
    Block,
    Comment,
    FileDefinition,
    Holder,
    Import,
    Property,
    Unrecognized,
)
from roboconf.dsl.lexer import DECLARATION_KEYWORD


def write(definition: FileDefinition, *, comments: bool = True) -> str:
    """The text of ``definition``; without ``comments``, no comment survives (nor any ``#``
    outside quoted values)."""
    return write_blocks(definition.blocks, comments=comments)


def write_blocks(blocks: Iterable[Block], *, comments: bool = True) -> str:
    """The text of top-level blocks, lines joined by ``\\n``.

    As in Roboconf, the newline that ends a file is an empty last line: the parser reads it as a
    final ``Blank(content="")``, and blocks built by program end with one to end with ``\\n``.
    """
    out: list[str] = []
    _write(blocks, 0, comments, out)
    return "\n".join(out)


def _write(blocks: Iterable[Block], depth: int, comments: bool, out: list[str]) -> None:
    indent = "\t" * depth
    for block in blocks:
        if isinstance(block, Holder):
            opening = block.open_comment if comments else ""
            closing = block.close_comment if comments else ""
            out.append(f"{indent}{DECLARATION_KEYWORD[block.kind]}{block.name} {{{opening}")
            _write(block.blocks, depth + 1, comments, out)
            out.append(f"{indent}}}{closing}")
        elif isinstance(block, Property):
            inline = block.inline_comment if comments else ""
            out.append(f"{indent}{block.name}: {block.value};{inline}")
        elif isinstance(block, Import):
            inline = block.inline_comment if comments else ""
            out.append(f"{indent}import {block.uri};{inline}")
        elif isinstance(block, Comment):
            if comments:
                out.extend(block.content.split("\n"))
        elif isinstance(block, Blank | Unrecognized):
            out.extend(block.content.split("\n"))
