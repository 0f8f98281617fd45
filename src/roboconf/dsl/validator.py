"""Per-block checks of a parsed file (``PM_*``): names, property values, which property may go
where. Nothing here looks across blocks or files; the graph and instance builders do that.

Names follow Roboconf's patterns: IDs (``[a-zA-Z_][\\w.-]*``) for components, facets, children
and variables, flexible IDs (letters, digits, ``_ . -`` and spaces) for installers and instance
names. Property names are matched case-insensitively; in an instance, a property that is not
``name``, ``count``, ``channels``, ``data.*`` or a runtime line overrides an exported variable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from roboconf.dsl.blocks import (
    Blank,
    Block,
    Comment,
    FileDefinition,
    Holder,
    HolderKind,
    Import,
    Property,
    Unrecognized,
)
from roboconf.dsl.exports import parse_exports, split_import, split_random
from roboconf.errors import Code, Diagnostic

ID_PATTERN = re.compile(r"[a-zA-Z_][\w.-]*", re.ASCII)
FLEXIBLE_ID_PATTERN = re.compile(r"[\w.-][\w .-]*", re.ASCII)
_IMPORTED_NAME = re.compile(r"[a-zA-Z_][\w.-]*(\.\*)?", re.ASCII)
_EXTERNAL_KEYWORD = re.compile(r"external\s", re.IGNORECASE)
_COUNT = re.compile(r"\d+", re.ASCII)

COMPONENT_PROPERTIES = frozenset(
    {"installer", "extends", "facets", "children", "exports", "imports"}
)
FACET_PROPERTIES = frozenset({"children", "exports", "extends"})
INSTANCE_PROPERTIES = frozenset({"name", "count", "channels", "instance-data", "instance-state"})
REPEATABLE_PROPERTIES = frozenset({"exports", "imports"})
_APPLICABLE = {HolderKind.COMPONENT: COMPONENT_PROPERTIES, HolderKind.FACET: FACET_PROPERTIES}
_EMPTY_NAME = {
    HolderKind.COMPONENT: Code.PM_EMPTY_COMPONENT_NAME,
    HolderKind.FACET: Code.PM_EMPTY_FACET_NAME,
    HolderKind.INSTANCEOF: Code.PM_EMPTY_COMPONENT_NAME,
}


def validate_definition(definition: FileDefinition) -> list[Diagnostic]:
    """The ``PM_*`` problems of every block of a parsed file, nested blocks included."""
    problems: list[Diagnostic] = []
    for block in definition.blocks:
        problems.extend(validate_block(block, file=definition.file))
    return problems


def validate_block(block: Block, *, file: str | None = None) -> list[Diagnostic]:
    """The ``PM_*`` problems of one block (a holder with its inner blocks)."""
    problems: list[Diagnostic] = []
    _Checker(file, problems).block(block)
    return problems


def validate_property(
    name: str,
    value: str,
    *,
    holder: HolderKind | None = None,
    file: str | None = None,
    line: int | None = None,
) -> list[Diagnostic]:
    """The problems of ``name: value`` in a holder of kind ``holder``.

    Without a holder, the property stands alone: an unknown name is only a warning.
    """
    problems: list[Diagnostic] = []
    _Checker(file, problems).property(name, value, holder, line, "")
    return problems


class _Checker:
    """Collects the problems of blocks into one list, with the file and lines filled in."""

    def __init__(self, file: str | None, problems: list[Diagnostic]) -> None:
        self.file = file
        self.problems = problems

    def report(self, code: Code, line: int | None, message: str, **details: Any) -> None:
        self.problems.append(
            Diagnostic(code=code, message=message, file=self.file, line=line, details=details)
        )

    def block(self, block: Block) -> None:
        if isinstance(block, Holder):
            self.holder(block)
        elif isinstance(block, Import):
            if not block.uri.strip():
                self.report(
                    Code.PM_EMPTY_IMPORT_LOCATION,
                    block.line,
                    "the import names no file: write 'import path/to/file.graph;'",
                )
        elif isinstance(block, Comment):
            self.lines_of(block.content, block.line, is_comment=True)
        elif isinstance(block, Blank):
            self.lines_of(block.content, block.line, is_comment=False)
        elif isinstance(block, Unrecognized):
            self.report(
                Code.PM_INVALID_BLOCK_TYPE,
                block.line,
                f"'{block.content.strip()}' is no block of a graph or instances file: fix or "
                "remove this line",
                content=block.content,
            )
        else:
            self.report(
                Code.PM_INVALID_BLOCK_TYPE,
                getattr(block, "line", None),
                f"{type(block).__name__} is no kind of block of a graph or instances file",
            )

    def lines_of(self, content: str, first_line: int, *, is_comment: bool) -> None:
        for offset, text in enumerate(content.split("\n")):
            if is_comment and not text.lstrip().startswith("#"):
                self.report(
                    Code.PM_MALFORMED_COMMENT,
                    first_line + offset if first_line else None,
                    f"the comment line '{text}' does not start with '#': add it",
                    content=text,
                )
            elif not is_comment and text.strip():
                self.report(
                    Code.PM_MALFORMED_BLANK,
                    first_line + offset if first_line else None,
                    f"the blank line '{text}' is not blank: remove its text",
                    content=text,
                )

    def holder(self, holder: Holder) -> None:
        self.holder_name(holder)
        seen: set[str] = set()
        has_name = False
        for block in holder.blocks:
            if not isinstance(block, Property):
                self.block(block)
                continue
            name, value, line = block.name, block.value, block.line
            key = name.lower()
            if holder.kind is HolderKind.INSTANCEOF and key not in INSTANCE_PROPERTIES:
                key = name
            has_name = has_name or key == "name"
            if key in seen and (
                holder.kind is HolderKind.INSTANCEOF or key not in REPEATABLE_PROPERTIES
            ):
                self.report(
                    Code.PM_DUPLICATE_PROPERTY,
                    line,
                    f"'{name}' is given twice in '{holder.name}': keep only one",
                    property=name,
                    holder=holder.name,
                )
            seen.add(key)
            self.property(name, value, holder.kind, line, holder.name)
        if holder.kind is HolderKind.INSTANCEOF and not has_name:
            self.report(
                Code.PM_MISSING_INSTANCE_NAME,
                holder.line,
                f"this instance of '{holder.name}' has no name: add 'name: a name;'",
                component=holder.name,
            )

    def holder_name(self, holder: Holder) -> None:
        name, line = holder.name, holder.line
        what = "component" if holder.kind is HolderKind.INSTANCEOF else holder.kind.value.lower()
        if not name:
            self.report(_EMPTY_NAME[holder.kind], line, f"the {what} has no name: name it")
        elif not ID_PATTERN.fullmatch(name):
            self.report(
                Code.PM_INVALID_NAME,
                line,
                f"'{name}' is not a valid {what} name: start with a letter or '_', then use "
                "letters, digits, '_', '-'",
                name=name,
            )
        elif "." in name:
            self.report(
                Code.PM_DOT_IS_NOT_ALLOWED,
                line,
                f"the {what} name '{name}' contains a '.': remove it (dots separate the prefix "
                "of variable names)",
                name=name,
            )

    def property(
        self, name: str, value: str, holder: HolderKind | None, line: int | None, owner: str
    ) -> None:
        key = name.lower()
        applicable = _APPLICABLE.get(holder) if holder is not None else None
        if applicable is not None and key not in applicable:
            self.report(
                Code.PM_PROPERTY_NOT_APPLIABLE,
                line,
                f"'{name}' is not a property of '{owner}': use one of "
                f"{', '.join(sorted(applicable))}",
                property=name,
                holder=owner,
            )
            return
        if holder is HolderKind.INSTANCEOF and key not in INSTANCE_PROPERTIES:
            key = ""  # data.* or an override of an exported variable: any value will do
        if not value.strip():
            self.report(
                Code.PM_EMPTY_PROPERTY_VALUE,
                line,
                f"the property '{name}' has no value: write '{name}: value;'",
                property=name,
            )
            return
        check = _CHECKS.get(key)
        if check is not None:
            check(self, value, line)
        elif holder is None and not key.startswith("data."):  # a lone property
            self.report(
                Code.PM_UNKNOWN_PROPERTY_NAME,
                line,
                f"'{name}' is not a known property name",
                property=name,
            )

    # -- property values -----------------------------------------------------------------

    def installer(self, value: str, line: int | None) -> None:
        if not FLEXIBLE_ID_PATTERN.fullmatch(value.strip()):
            self.report(
                Code.PM_INVALID_INSTALLER_NAME,
                line,
                f"'{value.strip()}' is not a valid installer name: use letters, digits, "
                "'_', '.', '-' (e.g. 'script', 'target', 'puppet'), without quotes",
                name=value.strip(),
            )

    def children(self, value: str, line: int | None) -> None:
        self.references(value, line, Code.PM_INVALID_CHILD_NAME, "child")

    def facets_or_extends(self, value: str, line: int | None) -> None:
        self.references(value, line, Code.PM_INVALID_NAME, "component or facet")

    def references(self, value: str, line: int | None, invalid: Code, what: str) -> None:
        for item in _items(value):
            if not item:
                self.report(
                    Code.PM_EMPTY_REFERENCED_NAME,
                    line,
                    f"the list '{value.strip()}' has an empty item: remove the extra comma",
                )
            elif not ID_PATTERN.fullmatch(item):
                self.report(
                    invalid,
                    line,
                    f"'{item}' is not a valid {what} name: start with a letter or '_', then "
                    "use letters, digits, '_', '.', '-' (no spaces, no quotes)",
                    name=item,
                )

    def exports(self, value: str, line: int | None) -> None:
        exports, problems = parse_exports(value)
        for problem in problems:
            self.report(problem.code, line, problem.message, **problem.details)
        for raw in exports:
            name, _random, _kind = split_random(raw)
            if not ID_PATTERN.fullmatch(name):
                self.report(
                    Code.PM_INVALID_EXPORTED_VAR_NAME,
                    line,
                    f"'{raw}' is not a valid exported variable name: start with a letter or "
                    "'_', then use letters, digits, '_', '.', '-'",
                    variable=raw,
                )
            if _EXTERNAL_KEYWORD.match(raw):
                self.report(
                    Code.PM_EXTERNAL_IS_KEYWORD_FOR_IMPORTS,
                    line,
                    f"'{raw}': 'external' only marks imports of other applications; rename "
                    "the exported variable",
                    variable=raw,
                )

    def imports(self, value: str, line: int | None) -> None:
        for item in _items(value):
            name = split_import(item)[0]
            if not item:
                self.report(
                    Code.PM_EMPTY_VARIABLE_NAME,
                    line,
                    f"the imports '{value.strip()}' have an empty item: remove the extra comma",
                )
            elif not _IMPORTED_NAME.fullmatch(name):
                self.report(
                    Code.PM_INVALID_IMPORTED_VAR_NAME,
                    line,
                    f"'{item}' is not a valid imported variable: write 'Prefix.variable' or "
                    "'Prefix.*', optionally 'external ' before and ' (optional)' after",
                    variable=item,
                )
            elif "." not in name or name.endswith("."):
                self.report(
                    Code.PM_INCOMPLETE_IMPORTED_VAR_NAME,
                    line,
                    f"'{name}' lacks its prefix: write 'Component.{name.rstrip('.')}' (or "
                    "'Facet.…')",
                    variable=item,
                )

    def count(self, value: str, line: int | None) -> None:
        text = value.strip()
        if not _COUNT.fullmatch(text) or int(text) < 1:
            self.report(
                Code.PM_INVALID_INSTANCE_COUNT,
                line,
                f"'count: {text}' is not a whole number of at least 1: write e.g. 'count: 3;'",
                value=text,
            )
        elif int(text) == 1:
            self.report(
                Code.PM_USELESS_INSTANCE_COUNT,
                line,
                "'count: 1' changes nothing: remove it",
                value=text,
            )

    def instance_name(self, value: str, line: int | None) -> None:
        if not FLEXIBLE_ID_PATTERN.fullmatch(value.lstrip()):
            self.report(
                Code.PM_INVALID_INSTANCE_NAME,
                line,
                f"'{value}' is not a valid instance name: use letters, digits, spaces, '_', "
                "'.', '-'",
                name=value,
            )

    def nothing(self, value: str, line: int | None) -> None:
        """Values that have no syntax to check here."""


_CHECKS: dict[str, Callable[[_Checker, str, int | None], None]] = {
    "installer": _Checker.installer,
    "children": _Checker.children,
    "facets": _Checker.facets_or_extends,
    "extends": _Checker.facets_or_extends,
    "exports": _Checker.exports,
    "imports": _Checker.imports,
    "count": _Checker.count,
    "name": _Checker.instance_name,
    "channels": _Checker.nothing,
    "instance-data": _Checker.nothing,
    "instance-state": _Checker.nothing,
}


def _items(value: str) -> Iterable[str]:
    return (item.strip() for item in value.split(","))
