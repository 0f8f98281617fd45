"""Text → :class:`FileDefinition`: the block structure of a ``.graph`` or ``.instances`` file.

The parser never raises. It reports every ``P_*`` problem it meets and resynchronises:

- a declaration without ``{`` still opens its block when the next significant line belongs to a
  block body (a property or a ``}``);
- ``} facet other {`` closes the block, reports the extra characters and opens ``other``;
- a declaration inside a component or facet (or anything but ``instance of`` inside an instance)
  means the open blocks were not closed: they are closed there, with ``P_C_C_BRACKET_MISSING``;
- a line that is nothing known is reported and kept as an :class:`Unrecognized` block.

Roboconf itself stops at the first parse error; :func:`truncate_at_first_error` gives that view
(the blocks the error-tolerant graph build keeps).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from roboconf.dsl import lexer
from roboconf.dsl.blocks import (
    Blank,
    Block,
    Comment,
    FileDefinition,
    FileKind,
    Holder,
    HolderKind,
    Import,
    Property,
    Unrecognized,
)
from roboconf.errors import Code, Diagnostic


def parse(text: str, file: str = "<input>", *, keep_comments: bool = True) -> FileDefinition:
    """Parse a graph or instances file; problems are in ``FileDefinition.diagnostics``.

    With ``keep_comments=False`` comment lines and in-line comments are dropped (what remains
    can be written back without a single ``#`` unless a quoted value holds one). A leading
    byte order mark is dropped.
    """
    return _Parser(file, keep_comments).run(lexer.split_lines(text.removeprefix("\ufeff")))


def parse_ignoring_comments(text: str, file: str = "<input>") -> FileDefinition:
    return parse(text, file, keep_comments=False)


def truncate_at_first_error(definition: FileDefinition) -> FileDefinition:
    """The blocks that start before the first severe parse error, as Roboconf would keep them.

    A block that is open at the error keeps the inner blocks read before it.
    """
    lines = [d.line for d in definition.diagnostics if d.is_error and d.line is not None]
    if not lines:
        return definition
    limit = min(lines)
    return replace(definition, blocks=_blocks_before(definition.blocks, limit))


def _blocks_before(blocks: tuple[Block, ...], limit: int) -> tuple[Block, ...]:
    kept: list[Block] = []
    for block in blocks:
        if block.line >= limit:
            break
        if isinstance(block, Holder):
            block = replace(block, blocks=_blocks_before(block.blocks, limit))
        kept.append(block)
    return tuple(kept)


@dataclass(slots=True)
class _Body:
    """The blocks of a file or of an open holder, merging runs of comment or blank lines."""

    blocks: list[Block] = field(default_factory=list)
    run: list[str] = field(default_factory=list)
    run_is_comment: bool = False
    run_line: int = 0

    def add_line(self, text: str, number: int, is_comment: bool) -> None:
        if self.run and self.run_is_comment != is_comment:
            self.flush()
        if not self.run:
            self.run_is_comment, self.run_line = is_comment, number
        self.run.append(text)

    def add(self, block: Block) -> None:
        if self.run:
            self.flush()
        self.blocks.append(block)

    def flush(self) -> None:
        content = "\n".join(self.run)
        self.blocks.append(
            Comment(content=content, line=self.run_line)
            if self.run_is_comment
            else Blank(content=content, line=self.run_line)
        )
        self.run = []

    def finish(self) -> tuple[Block, ...]:
        if self.run:
            self.flush()
        return tuple(self.blocks)


@dataclass(slots=True, kw_only=True)
class _Open(_Body):
    """A holder whose ``}`` has not been read yet, and its blocks so far."""

    kind: HolderKind
    name: str
    line: int
    open_comment: str

    def close(self, end_line: int, close_comment: str) -> Holder:
        return Holder(
            kind=self.kind,
            name=self.name,
            blocks=self.finish(),
            open_comment=self.open_comment,
            close_comment=close_comment,
            line=self.line,
            end_line=end_line,
        )


class _Parser:
    """One parse: lines in, blocks and diagnostics out; ``stack`` holds the open holders."""

    def __init__(self, file: str, keep_comments: bool) -> None:
        self.file = file
        self.keep_comments = keep_comments
        self.top = _Body()
        self.stack: list[_Open] = []
        self.diagnostics: list[Diagnostic] = []
        self.lines: list[str] = []

    def run(self, lines: list[str]) -> FileDefinition:
        self.lines = lines
        keep_comments, stack = self.keep_comments, self.stack
        plain_property = lexer.PLAIN_PROPERTY.fullmatch
        for number, line in enumerate(lines, 1):
            stripped = line.strip()
            first = stripped[:1]
            if not first or first == "#":
                if not first or keep_comments:
                    body = stack[-1] if stack else self.top
                    body.add_line(line, number, is_comment=bool(first))
            elif stripped == "}" and stack:  # the usual closing line
                self.close_innermost(number, line[line.index("}") + 1 :] if keep_comments else "")
            elif first == "}":
                self.closing(line, number)
            elif not stack:
                self.top_line(line, number, stripped)
            elif (plain := plain_property(line)) is not None:  # the usual line, made quick
                name, value, comment = plain.group(1, 2, 3)
                stack[-1].add(
                    Property(
                        name=name,
                        value=value,
                        inline_comment=comment if keep_comments else "",
                        line=number,
                    )
                )
            else:
                self.inner_line(line, number, stripped)
        eof = len(lines) + (0 if lines and lines[-1] == "" else 1)  # the line after the last
        while self.stack:
            holder = self.stack[-1]
            self.error(
                Code.P_C_C_BRACKET_MISSING,
                eof,
                None,
                f"{_describe(holder)} opened at line {holder.line} is not closed: add '}}' "
                "at the end of the file",
                name=holder.name,
                opened_at=holder.line,
            )
            self.close_innermost(eof, "")
        blocks = self.top.finish()
        kind = self.file_kind(blocks)
        return FileDefinition(
            file=self.file, kind=kind, blocks=blocks, diagnostics=tuple(self.diagnostics)
        )

    # -- one line ------------------------------------------------------------------------

    def top_line(self, line: str, number: int, stripped: str) -> None:
        if stripped[-1] == "{":  # the likelier construct first
            declaration = lexer.recognize_declaration(line)
            if declaration is not None:
                self.declaration(declaration, number)
                return
        imported = lexer.recognize_import(line)
        if imported is not None:
            self.report(imported.problems, number)
            comment = imported.inline_comment if self.keep_comments else ""
            self.top.add(Import(uri=imported.uri, inline_comment=comment, line=number))
            return
        declaration = lexer.recognize_declaration(line)
        if declaration is not None:
            self.declaration(declaration, number)
            return
        self.error(
            Code.P_UNRECOGNIZED_BLOCK,
            number,
            _indent(line) + 1,
            f"'{line.strip()}' is no import, facet, component or instance declaration: "
            "properties go inside a block ('Name {' ... '}')",
            text=line.strip(),
        )
        self.top.add(Unrecognized(content=line, line=number))

    def inner_line(self, line: str, number: int, stripped: str) -> None:
        holder = self.stack[-1]
        in_instance = holder.kind is HolderKind.INSTANCEOF
        # Properties never end with '{': look for the likelier construct first.
        declaration = lexer.recognize_declaration(line) if stripped[-1] == "{" else None
        prop = lexer.recognize_property(line) if declaration is None else None
        if prop is not None:
            if prop.problems:
                self.report(prop.problems, number)
            comment = prop.inline_comment if self.keep_comments else ""
            holder.add(
                Property(name=prop.name, value=prop.value, inline_comment=comment, line=number)
            )
            return
        declaration = declaration or lexer.recognize_declaration(line)
        if declaration is not None:
            if in_instance and declaration.kind is HolderKind.INSTANCEOF:
                self.declaration(declaration, number)
                return
            if declaration.has_bracket:
                self.unclosed_before(declaration, number)
                self.declaration(declaration, number)
                return
        code = Code.P_INVALID_PROPERTY_OR_INSTANCE if in_instance else Code.P_INVALID_PROPERTY
        hint = " or an 'instance of' block" if in_instance else ""
        self.error(
            code,
            number,
            _indent(line) + 1,
            f"'{line.strip()}' in {_describe(holder)} is not a property ('name: value;'){hint}",
            name=holder.name,
            text=line.strip(),
        )
        holder.add(Unrecognized(content=line, line=number))

    def declaration(self, declaration: lexer.DeclarationLine, number: int) -> None:
        if declaration.problems:
            self.report(declaration.problems, number)
        if not declaration.has_bracket and not self.body_follows(number):
            body = self.stack[-1] if self.stack else self.top
            body.add(Unrecognized(content=self.lines[number - 1], line=number))
            return
        comment = declaration.open_comment if self.keep_comments else ""
        if not declaration.has_bracket or declaration.problems:
            comment = ""
        self.stack.append(
            _Open(kind=declaration.kind, name=declaration.name, line=number, open_comment=comment)
        )

    def closing(self, line: str, number: int) -> None:
        if not self.stack:
            self.error(
                Code.P_UNRECOGNIZED_BLOCK,
                number,
                _indent(line) + 1,
                "this '}' closes no block: remove it",
            )
            self.top.add(Unrecognized(content=line, line=number))
            return
        start = line.index("}") + 1
        code, _comment = lexer.split_inline_comment(line[start:])
        if not code.strip():
            self.close_innermost(number, line[start:] if self.keep_comments else "")
            return
        holder = self.stack[-1]
        self.error(
            Code.P_C_C_BRACKET_EXTRA_CHARACTERS,
            number,
            start + len(code) - len(code.lstrip()) + 1,
            f"only a comment may follow the '}}' that closes {_describe(holder)}: move "
            f"'{code.strip()}' to its own line",
            name=holder.name,
        )
        self.close_innermost(number, "")
        reopened = lexer.recognize_declaration(code)
        if reopened is not None and reopened.has_bracket:
            self.declaration(reopened._replace(problems=(), open_comment=""), number)

    def unclosed_before(self, declaration: lexer.DeclarationLine, number: int) -> None:
        """A declaration where none may be: the open blocks lack their ``}``."""
        while self.stack:
            holder = self.stack[-1]
            self.error(
                Code.P_C_C_BRACKET_MISSING,
                number,
                1,
                f"{_describe(holder)} opened at line {holder.line} is not closed before the "
                f"declaration of '{declaration.name}': add '}}' before line {number}",
                name=holder.name,
                opened_at=holder.line,
            )
            self.close_innermost(number - 1, "")

    def close_innermost(self, end_line: int, close_comment: str) -> None:
        holder = self.stack.pop().close(end_line, close_comment)
        (self.stack[-1] if self.stack else self.top).add(holder)

    def body_follows(self, number: int) -> bool:
        """Whether the next significant line after ``number`` belongs to a block body."""
        for line in self.lines[number:]:
            stripped = line.strip()
            if not stripped or stripped[0] == "#":
                continue
            return stripped[0] == "}" or lexer.recognize_property(line) is not None
        return False

    # -- results -------------------------------------------------------------------------

    def file_kind(self, blocks: tuple[Block, ...]) -> FileKind:
        holders = [b for b in blocks if isinstance(b, Holder)]
        if not holders:
            if any(isinstance(b, Import) for b in blocks):
                return FileKind.AGGREGATOR
            if any(isinstance(b, Unrecognized) for b in blocks):
                return FileKind.UNDETERMINED
            if not self.diagnostics:
                self.diagnostics.append(
                    Diagnostic(
                        code=Code.P_EMPTY_FILE,
                        message="the file holds only comments and blank lines: declare a "
                        "component, a facet, an instance or an import",
                        file=self.file,
                        line=1,
                    )
                )
            return FileKind.EMPTY
        first = holders[0]
        first_is_instance = first.kind is HolderKind.INSTANCEOF
        for holder in holders:
            if (holder.kind is HolderKind.INSTANCEOF) != first_is_instance:
                self.error(
                    Code.P_INVALID_FILE_TYPE,
                    holder.line,
                    1,
                    f"{_describe(holder)} cannot be in the same file as {_describe(first)} "
                    f"(line {first.line}): put instances and components or facets in "
                    "separate files",
                    name=holder.name,
                )
                return FileKind.UNDETERMINED
        return FileKind.INSTANCE if first_is_instance else FileKind.GRAPH

    def report(self, problems: tuple[lexer.LineProblem, ...], number: int) -> None:
        text = self.lines[number - 1].strip()
        for problem in problems:
            self.error(problem.code, number, problem.column, problem.message, text=text)

    def error(
        self, code: Code, number: int, column: int | None, message: str, **details: object
    ) -> None:
        self.diagnostics.append(
            Diagnostic(
                code=code,
                message=message,
                file=self.file,
                line=number,
                column=column,
                details=details,
            )
        )


def _describe(holder: _Open | Holder) -> str:
    kind = lexer.DECLARATION_KEYWORD[holder.kind].strip() or "component"
    return f"the {kind} '{holder.name}'"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())
