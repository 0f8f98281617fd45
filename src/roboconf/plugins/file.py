"""The ``file`` installer: file operations listed in ``instructions.properties``.

Each line is ``<step>.<n>.<action> = parameter``; a step runs its instructions in the numeric
order of ``n`` (digits only: ``deploy.10`` comes after ``deploy.9``, unlike Roboconf's text
order). Actions:

- ``download = URL`` (saved in the work directory under the URL's last name) or
  ``download = URL -> path``: http and https only;
- ``copy = source -> target`` and ``move = source -> target`` (files or directories; a target
  that is an existing directory, or ends with ``/``, receives the source inside it; missing
  parents are created);
- ``delete = path`` (a file or a directory; nothing to do if it is not there).

Relative paths are relative to the instance's work directory and may not leave it (``..``,
symbolic links). Roboconf let recipes name any absolute path; here an absolute path is accepted
only inside the ``allowed_roots`` the agent is configured with (e.g. Tomcat's ``webapps``).
A malformed file (unknown step or action, ``n`` not a number) fails every step, naming the lines.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from roboconf.clock import Clock, SystemClock
from roboconf.plugins.base import STEPS, StepContext, StepResult, no_recipe
from roboconf.plugins.recipes import run_in_work_dir
from roboconf.plugins.workdir import inside
from roboconf.project.properties import parse_properties

INSTRUCTIONS = "instructions.properties"
ACTIONS = ("download", "copy", "move", "delete")
_KEY = re.compile(r"(?P<step>[^.]+)\.(?P<position>[^.]+)\.(?P<action>[^.]+)")
_ARROW = "->"
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Instruction:
    step: str
    position: int
    action: str
    parameter: str
    line: int

    @property
    def key(self) -> str:
        return f"{self.step}.{self.position}.{self.action}"


class InstructionError(Exception):
    """An instruction that cannot be carried out; the message says why."""


def parse_instructions(text: str) -> tuple[list[Instruction], list[str]]:
    """All instructions, in execution order per step, and the problems of the malformed lines."""
    properties = parse_properties(text)
    instructions: list[Instruction] = []
    problems: list[str] = []
    for key, parameter in properties.values.items():
        line = properties.lines[key]
        match = _KEY.fullmatch(key)
        if match is None:
            problems.append(f"line {line}: {key!r} is not <step>.<n>.<action>")
            continue
        step, position, action = match.group("step", "position", "action")
        if step not in STEPS:
            problems.append(f"line {line}: unknown step {step!r} (one of {', '.join(STEPS)})")
        elif not position.isdigit():
            problems.append(f"line {line}: {position!r} in {key!r} is not a number")
        elif action not in ACTIONS:
            problems.append(f"line {line}: unknown action {action!r} (one of {', '.join(ACTIONS)})")
        else:
            instructions.append(
                Instruction(
                    step=step,
                    position=int(position),
                    action=action,
                    parameter=parameter,
                    line=line,
                )
            )
    instructions.sort(key=lambda i: (i.position, i.line))
    return instructions, problems


class FilePlugin:
    def __init__(self, *, allowed_roots: Sequence[Path] = (), clock: Clock | None = None) -> None:
        self._allowed_roots = tuple(allowed_roots)
        self._clock = clock or SystemClock()

    async def run(self, step: str, context: StepContext) -> StepResult:
        async def in_work_dir(work: Path) -> StepResult:
            source = work / INSTRUCTIONS
            if not source.is_file():
                return no_recipe(step)
            instructions, problems = parse_instructions(source.read_text("utf-8", "replace"))
            if problems:
                reason = f"{INSTRUCTIONS} is malformed: {'; '.join(problems)}"
                return StepResult(step=step, ok=False, reason=reason)
            mine = [i for i in instructions if i.step == step]
            if not mine:
                return no_recipe(step)
            return await self._execute(step, mine, work, context)

        return await run_in_work_dir(step, context, in_work_dir)

    async def _execute(
        self, step: str, instructions: list[Instruction], work: Path, context: StepContext
    ) -> StepResult:
        started = self._clock.monotonic()
        done: list[str] = []
        current = instructions[0]
        timeout_s = context.limits.timeout_s
        try:
            async with asyncio.timeout(timeout_s):
                for current in instructions:
                    outcome = await asyncio.to_thread(self._carry_out, current, work, timeout_s)
                    done.append(f"{current.key}: {outcome}")
        except TimeoutError:
            reason = f"{current.key} timed out after {timeout_s:g} s"
            return self._result(step, False, reason, done, started, timed_out=True)
        except (InstructionError, OSError, ValueError) as error:
            reason = f"{current.key} (line {current.line}) failed: {error}"
            return self._result(step, False, reason, done, started)
        return self._result(step, True, f"{len(done)} instruction(s) done", done, started)

    def _result(
        self,
        step: str,
        ok: bool,
        reason: str,
        done: list[str],
        started: float,
        *,
        timed_out: bool = False,
    ) -> StepResult:
        return StepResult(
            step=step,
            ok=ok,
            reason=reason,
            exit_code=0 if ok else None,
            timed_out=timed_out,
            duration_s=self._clock.monotonic() - started,
            output="\n".join(done),
        )

    def _carry_out(self, instruction: Instruction, work: Path, timeout_s: float) -> str:
        """Runs in a worker thread; returns what was done, raises what went wrong."""
        parameter = instruction.parameter
        if instruction.action == "delete":
            target = self._resolve(work, parameter)
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            else:
                return f"{parameter} was not there"
            return f"deleted {parameter}"
        if instruction.action == "download":
            url, _, destination = parameter.partition(_ARROW)
            url = url.strip()
            name = destination.strip() or _download_name(url)
            size = _download(url, self._resolve(work, name), timeout_s)
            return f"downloaded {url} to {name} ({size} bytes)"
        source_text, arrow, target_text = parameter.partition(_ARROW)
        if not arrow:
            raise InstructionError(f"expected 'source -> target', got {parameter!r}")
        source = self._resolve(work, source_text)
        target = self._resolve(work, target_text)
        if not source.exists():
            raise InstructionError(f"{source_text.strip()!r} does not exist")
        if target_text.strip().endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        if instruction.action == "move":
            shutil.move(source, target)
        elif source.is_dir():
            shutil.copytree(source, target / source.name if target.is_dir() else target)
        else:
            shutil.copy2(source, target)
        return f"{instruction.action} {source_text.strip()} -> {target_text.strip()}"

    def _resolve(self, work: Path, text: str) -> Path:
        """A path named by an instruction, refused when outside the work directory (or, when
        absolute, outside every allowed root)."""
        text = text.strip()
        if not text:
            raise InstructionError("a path is missing")
        roots = self._allowed_roots if Path(text).is_absolute() else (work,)
        for root in roots:
            target = inside(root, text)
            if target is not None:
                return target
        if Path(text).is_absolute():
            allowed = ", ".join(str(r) for r in self._allowed_roots) or "none configured"
            raise InstructionError(
                f"{text!r} is outside the allowed directories ({allowed}); use a path relative "
                "to the work directory, or allow its directory in the agent's configuration"
            )
        raise InstructionError(f"{text!r} leads outside the work directory")


def _download_name(url: str) -> str:
    """The URL's last name (``app.war``), or ``download`` when it has none."""
    return Path(urllib.parse.urlparse(url).path).name or "download"


def _download(url: str, target: Path, timeout_s: float) -> int:
    """Stream ``url`` into ``target`` (written whole or not at all); the number of bytes."""
    import urllib.request  # with http and ssl: only for recipes that download

    if urllib.parse.urlparse(url).scheme not in ("http", "https"):
        raise InstructionError(f"{url!r} is not an http or https URL")

    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as partial:
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                while chunk := response.read(_CHUNK):
                    partial.write(chunk)
                    size += len(chunk)
        except BaseException:
            Path(partial.name).unlink(missing_ok=True)
            raise
    Path(partial.name).replace(target)
    return size
