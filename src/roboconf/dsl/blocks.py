"""The parse tree of a ``.graph`` or ``.instances`` file.

One block per construct, in file order, comments and blank lines included, so that a file can
be written back as it was read. Blocks are frozen; a holder (component, facet, instance of)
holds its inner blocks. Property names keep the case they were written with; keywords are
matched case-insensitively by the readers of this tree.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from roboconf.errors import Diagnostic


class FileKind(enum.Enum):
    GRAPH = "GRAPH"  # components and/or facets (imports allowed)
    INSTANCE = "INSTANCE"  # instances (imports allowed)
    AGGREGATOR = "AGGREGATOR"  # imports only
    EMPTY = "EMPTY"  # comments and blank lines only
    UNDETERMINED = "UNDETERMINED"  # mixes kinds (P_INVALID_FILE_TYPE)


class HolderKind(enum.Enum):
    COMPONENT = "COMPONENT"
    FACET = "FACET"
    INSTANCEOF = "INSTANCEOF"


@dataclass(frozen=True, slots=True, kw_only=True)
class Comment:
    """Consecutive comment lines, merged; ``content`` keeps them verbatim, joined with ``\\n``."""

    content: str
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Blank:
    """Consecutive blank lines, merged; ``content`` keeps their whitespace, joined with ``\\n``."""

    content: str
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Property:
    """``name: value;`` — ``inline_comment`` keeps what followed the ``;`` verbatim (or "")."""

    name: str
    value: str
    inline_comment: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Import:
    uri: str
    inline_comment: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Holder:
    """A component, a facet or an ``instance of`` block.

    ``name`` is the component or facet name (for an instance, the name of its component).
    ``open_comment`` / ``close_comment`` keep what followed ``{`` / ``}`` verbatim.
    """

    kind: HolderKind
    name: str
    blocks: tuple[Block, ...] = ()
    open_comment: str = ""
    close_comment: str = ""
    line: int = 0
    end_line: int = 0

    def properties(self) -> tuple[Property, ...]:
        return tuple(b for b in self.blocks if isinstance(b, Property))

    def holders(self) -> tuple[Holder, ...]:
        return tuple(b for b in self.blocks if isinstance(b, Holder))


@dataclass(frozen=True, slots=True, kw_only=True)
class Unrecognized:
    """A line the parser could not read (it reported why); kept verbatim so no text is lost."""

    content: str
    line: int = 0


Block = Comment | Blank | Property | Import | Holder | Unrecognized


@dataclass(frozen=True, slots=True, kw_only=True)
class FileDefinition:
    """A parsed file: its blocks, its kind, and the parsing diagnostics (``P_*``)."""

    file: str
    kind: FileKind
    blocks: tuple[Block, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = field(default_factory=tuple)

    def imports(self) -> tuple[Import, ...]:
        return tuple(b for b in self.blocks if isinstance(b, Import))

    def holders(self) -> tuple[Holder, ...]:
        return tuple(b for b in self.blocks if isinstance(b, Holder))
