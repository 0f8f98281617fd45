"""The commands language (``commands/<name>.commands``): text in, instructions and diagnostics out.

A commands file is checked against an application: its graph, its instances, and the other
commands files it may ``Execute``. Instructions are read in order and each one is checked
against the instances as the previous ones leave them (see ``_command_checks``), so the result
is also what an executor needs: parse the file against the live application right before
running it, refuse to run when there is an error, then perform every instruction that is not
``disabled``. Nothing here reads a file or the clock by itself: :class:`CommandsContext` brings
the text of other commands files (``read``), the time and the UUIDs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import tzinfo

from roboconf.autonomic._command_checks import Simulation, apply, check
from roboconf.autonomic._command_syntax import (
    COMMANDS_EXTENSION,
    keyword_of,
    logical_lines,
    parse_instruction,
    unrecognized,
)
from roboconf.autonomic._command_variables import Sources, evaluate, substitute, unresolved_issue
from roboconf.autonomic._issues import Issue, did_you_mean
from roboconf.autonomic.instructions import Define, Execute, Instruction
from roboconf.errors import Code, Diagnostic, has_errors
from roboconf.model.types import Graph, Instance

__all__ = [
    "CommandsContext",
    "CommandsParse",
    "instance_paths",
    "parse_commands",
    "parse_commands_file",
]


def _no_text(name: str) -> str | None:
    return None


def _random_uuid() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandsContext:
    """The application a commands text is checked against.

    - ``instances``: every instance, path → component name (see :func:`instance_paths`);
    - ``commands``: names (without ``.commands``) of the files of the application's
      ``commands/`` folder, and ``read(name)`` their text (None when unreadable), used to
      check ``Execute`` for loops;
    - ``command_name``: the file being parsed, when it is one of them (it may not execute itself);
    - ``clock_ns`` (nanoseconds since the epoch), ``new_uuid`` and ``timezone`` (None: the
      machine's) feed ``$(NANO_TIME)``, ``$(MILLI_TIME)``, ``$(FORMATTED_TIME ...)``, ``$(UUID)``.
    """

    graph: Graph
    instances: Mapping[str, str] = field(default_factory=dict)
    commands: Collection[str] = frozenset()
    read: Callable[[str], str | None] = _no_text
    command_name: str | None = None
    clock_ns: Callable[[], int] = time.time_ns
    new_uuid: Callable[[], str] = _random_uuid
    timezone: tzinfo | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandsParse:
    """The instructions in file order (also those with errors, never the unreadable lines)."""

    instructions: tuple[Instruction, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the instructions may run (warnings allowed)."""
        return not has_errors(self.diagnostics)


def instance_paths(roots: Iterable[Instance]) -> dict[str, str]:
    """``/vm/server`` → component name, for every instance of the trees."""
    result: dict[str, str] = {}
    pending = [("", root) for root in roots]
    while pending:
        prefix, instance = pending.pop()
        path = f"{prefix}/{instance.name}"
        result[path] = instance.component
        pending.extend((path, child) for child in instance.children)
    return result


def parse_commands(text: str, context: CommandsContext, *, file: str = "<input>") -> CommandsParse:
    """Parses and checks a commands text; every problem is a diagnostic, nothing is raised."""
    reader = _Reader(context, file)
    recognized = 0
    for line, written in logical_lines(text):
        keyword = keyword_of(written)
        if keyword is None:
            reader.report(line, unrecognized(written))
        else:
            recognized += 1
            reader.read(keyword, written, line)
    diagnostics = reader.diagnostics
    if not recognized:
        empty = Diagnostic(
            code=Code.CMD_NO_INSTRUCTION,
            message="no instruction was found: the file is empty or holds only comments"
            " and unknown lines",
            file=file,
            line=1,
        )
        diagnostics = [empty, *diagnostics]
    return CommandsParse(instructions=tuple(reader.instructions), diagnostics=tuple(diagnostics))


def parse_commands_file(
    name: str, context: CommandsContext, *, file: str | None = None
) -> CommandsParse:
    """Parses ``commands/<name>.commands``, read through ``context.read``."""
    where = file or f"commands/{name}{COMMANDS_EXTENSION}"
    text = context.read(name)
    if text is None:
        missing = Diagnostic(
            code=Code.CMD_INEXISTING_COMMAND_FILE,
            message=f"the commands file '{where}' does not exist or cannot be read",
            file=where,
            line=1,
            details={"command": name},
        )
        return CommandsParse(diagnostics=(missing,))
    return parse_commands(text, replace(context, command_name=name), file=where)


class _Reader:
    """The state of one parse: variables, simulated instances, results so far."""

    def __init__(self, context: CommandsContext, file: str) -> None:
        self.context = context
        self.file = file
        self.graph = context.graph
        self.instances = Simulation(context.instances)
        self.sources = Sources(
            clock_ns=context.clock_ns, new_uuid=context.new_uuid, timezone=context.timezone
        )
        self.variables: dict[str, str] = {}
        self.stand_ins: dict[str, str] = {}  # disabled variable → its stand-in
        self.loop_free: set[str] = set()
        self.instructions: list[Instruction] = []
        self.diagnostics: list[Diagnostic] = []

    def report(self, line: int, issue: Issue) -> None:
        self.diagnostics.append(
            Diagnostic(
                code=issue.code,
                message=issue.message,
                file=self.file,
                line=line,
                details=dict(issue.details),
            )
        )

    def read(self, keyword: str, written: str, line: int) -> None:
        found = substitute(
            written, self.variables, self.stand_ins, self.sources, in_define=keyword == "define"
        )
        for token in found.unresolved:
            self.report(line, unresolved_issue(token, written))
        instruction = parse_instruction(keyword, found.shape, line)
        if isinstance(instruction, Issue):
            self.report(line, instruction)
            return
        if found.disabled_by:
            instruction = replace(instruction, text=found.text, disabled=True)
            if isinstance(instruction, Define):
                self._disable(instruction.name, instruction.expression)
        elif not found.unresolved:
            instruction = self._checked(instruction, line)
        self.instructions.append(instruction)

    def _checked(self, instruction: Instruction, line: int) -> Instruction:
        issues: Sequence[Issue]
        if isinstance(instruction, Define):
            evaluation = evaluate(instruction, self.instances.paths.keys(), self.sources)
            issues = evaluation.issues
            if evaluation.value is not None and evaluation.disabled:
                self._disable(instruction.name, evaluation.value)
                instruction = replace(instruction, disabled=True)
            elif evaluation.value is not None:
                self.variables[instruction.name] = evaluation.value
                self.stand_ins.pop(instruction.name, None)
                instruction = replace(instruction, value=evaluation.value)
        elif isinstance(instruction, Execute):
            issues = self._execute_issues(instruction)
        else:
            issues = check(instruction, self.instances, self.graph)
            if not issues:
                apply(instruction, self.instances)
        for issue in issues:
            self.report(line, issue)
        return instruction

    def _disable(self, name: str, stand_in: str) -> None:
        self.stand_ins[name] = stand_in
        self.variables.pop(name, None)

    def _execute_issues(self, execute: Execute) -> list[Issue]:
        name, context = execute.command, self.context
        details = {"command": name, "instruction": execute.text}
        if name == context.command_name:
            return [
                Issue(
                    Code.CMD_LOOPING_COMMAND,
                    f"'{name}' executes itself: remove this instruction.",
                    details,
                )
            ]
        if name not in context.commands:
            return [
                Issue(
                    Code.CMD_INEXISTING_COMMAND,
                    f"there is no 'commands/{name}{COMMANDS_EXTENSION}' in the application."
                    + did_you_mean(name, context.commands),
                    details,
                )
            ]
        loop = self._loop(name, [])
        if loop is None:
            return []
        shown = " → ".join([context.command_name, *loop] if context.command_name else loop)
        return [
            Issue(
                Code.CMD_NASTY_LOOPING_COMMAND,
                f"executing '{name}' never ends: {shown}. Remove one of these 'execute'.",
                {**details, "loop": shown},
            )
        ]

    def _loop(self, name: str, chain: list[str]) -> list[str] | None:
        """The chain of executions from ``name`` back to a file already on the way, or None."""
        if name == self.context.command_name or name in chain:
            return [*chain, name]
        if name in self.loop_free:
            return None
        for target in self._executed_by(name):
            loop = self._loop(target, [*chain, name])
            if loop is not None:
                return loop
        self.loop_free.add(name)
        return None

    def _executed_by(self, name: str) -> list[str]:
        text = self.context.read(name) or ""
        targets = []
        for line, written in logical_lines(text):
            if keyword_of(written) == "execute":
                found = parse_instruction("execute", written, line)
                if isinstance(found, Execute):
                    targets.append(found.command)
        return targets
