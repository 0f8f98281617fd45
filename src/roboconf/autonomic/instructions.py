"""The instructions of a ``.commands`` file, as frozen values an executor can run in order.

A commands file is parsed against the application as it is *now* (see
:func:`roboconf.autonomic.commands.parse_commands`): variables, ``$(SMART_INDEX)`` and
``$(EXISTING_INDEX ...)`` are already resolved in these values, so an executor parses the file
right before running it and then performs each instruction that is not ``disabled``.

Every instruction keeps ``line`` (the first line of the instruction in its file) and ``text``
(the instruction with its variables replaced, continuation lines joined, the comment removed),
which is what a history of runs should show. ``disabled`` is set when the instruction uses a
variable based on ``$(EXISTING_INDEX ...)`` that matched no instance: it must be skipped. Its
``text`` shows the variables that disabled it (``stop all /$(OLDEST)``); its fields hold a
stand-in for them (the index 0), only so that the instruction could still be read.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from roboconf.model.types import InstanceStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class Instruction:
    """What every instruction has. ``kind`` names the instruction in logs and histories."""

    kind: ClassVar[str] = "instruction"

    line: int
    text: str
    disabled: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Define(Instruction):
    """``Define NAME = expression [under /parent]``: a variable for the next instructions.

    ``value`` is the expression once every variable and generator is replaced; it is None when
    the instruction is disabled (an ``$(EXISTING_INDEX ...)`` matched nothing).
    """

    kind: ClassVar[str] = "define"

    name: str
    expression: str
    value: str | None = None
    under: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Create(Instruction):
    """``Create <Component> as <name> [under /parent]``: a new instance, not deployed."""

    kind: ClassVar[str] = "create"

    component: str
    name: str
    parent: str | None = None

    @property
    def path(self) -> str:
        return f"{self.parent or ''}/{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Replicate(Instruction):
    """``Replicate /root as <name>``: a copy of a root instance and its subtree."""

    kind: ClassVar[str] = "replicate"

    source: str
    name: str

    @property
    def path(self) -> str:
        return f"/{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rename(Instruction):
    """``Rename /path as <name>``: the instance keeps its parent, its subtree follows."""

    kind: ClassVar[str] = "rename"

    path: str
    name: str

    @property
    def new_path(self) -> str:
        return f"{self.path.rsplit('/', 1)[0]}/{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Associate(Instruction):
    """``Associate /scoped with <target-id>``: the target that will host a scoped instance."""

    kind: ClassVar[str] = "associate"

    path: str
    target_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeStatus(Instruction):
    """``Change status of /path to <stable state>``: NOT_DEPLOYED, DEPLOYED_STOPPED or
    DEPLOYED_STARTED."""

    kind: ClassVar[str] = "change-status"

    path: str
    status: InstanceStatus


class BulkKind(enum.Enum):
    """What a bulk instruction does to an instance and its subtree."""

    DEPLOY_AND_START = "deploy and start"
    STOP = "stop"
    UNDEPLOY = "undeploy"
    DELETE = "delete"


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkAction(Instruction):
    """``Deploy and start all`` / ``Stop all`` / ``Undeploy all`` / ``Delete``.

    The target is exactly one of ``path`` (an instance and its subtree) or ``component``
    (``... all instances of <Component>``). ``Delete`` removes instances from the model; an
    executor undeploys them first.
    """

    kind: ClassVar[str] = "bulk"

    action: BulkKind
    path: str | None = None
    component: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Email(Instruction):
    """``email [to, ...] with <message>``; no recipient means the default ones (preferences).

    A literal ``\\n`` in the message is already a line break here.
    """

    kind: ClassVar[str] = "email"

    to: tuple[str, ...] = ()
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TextToFile(Instruction):
    """The shape of ``Write`` and ``Append``. ``%TMP%`` in ``file`` is left for the executor
    (it stands for the temporary directory of the machine that runs the command)."""

    content: str
    file: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Write(TextToFile):
    """``Write <text> into <file>``: replaces the file's content."""

    kind: ClassVar[str] = "write"


@dataclass(frozen=True, slots=True, kw_only=True)
class Append(TextToFile):
    """``Append <text> into <file>``: adds a line to the file (created when missing)."""

    kind: ClassVar[str] = "append"


@dataclass(frozen=True, slots=True, kw_only=True)
class Execute(Instruction):
    """``Execute <name>``: runs ``commands/<name>.commands`` (checked to exist, without loops)."""

    kind: ClassVar[str] = "execute"

    command: str
