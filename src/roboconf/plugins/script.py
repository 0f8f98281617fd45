"""The ``script`` installer (alias ``bash``): one program per life cycle step.

Lookup for step S in the work directory (see :mod:`roboconf.plugins.recipes`):

1. ``scripts/S.sh``;
2. else the first file of ``scripts/`` whose name starts with S, in name order (``start.py``);
3. else ``roboconf-templates/S.template``, else ``roboconf-templates/default.template``,
   rendered (:mod:`roboconf.plugins.templates`) into a temporary executable file;
4. else nothing: the step succeeds without running anything.

A plug-in remembers what it found for each step of each work directory, until the next
``deploy`` (which copies the recipes afresh) or a successful ``undeploy`` (which removes them):
health checks and repeated steps do not search the folders again. A step is looked up when it
first runs, after the steps before it, so a ``deploy`` recipe may still write the script of a
later step; a recipe that adds or removes the script of a step that already ran is not seen
before the next ``deploy``.

``default.template`` serves Roboconf's steps only: a health check (``check``) runs when a
recipe provides one explicitly, never from the default template. Programs run from their own
directory with the environment of :mod:`roboconf.plugins.environment`, as described in
:mod:`roboconf.plugins.process`. A ``start`` recipe that launches a daemon should redirect the
daemon's output (``nohup server >server.log 2>&1 &``): the step ends when the recipe exits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from roboconf.clock import Clock, SystemClock
from roboconf.plugins.base import DEPLOY, UNDEPLOY, StepContext, StepResult, no_recipe
from roboconf.plugins.environment import recipe_environment
from roboconf.plugins.process import outcome_result, run_program
from roboconf.plugins.recipes import run_in_work_dir
from roboconf.plugins.templates import TemplateError, render_template, template_data

_log = logging.getLogger(__name__)

SCRIPTS_DIR = "scripts"
TEMPLATES_DIR = "roboconf-templates"
DEFAULT_TEMPLATE = "default.template"
#: steps that never fall back on ``default.template``.
_EXPLICIT_ONLY = frozenset({"check"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipe:
    path: Path
    template: bool = False


def find_recipe(work: Path, step: str) -> Recipe | None:
    """The program (or template) of ``step`` in the work directory ``work``, if any."""
    scripts = work / SCRIPTS_DIR
    exact = scripts / f"{step}.sh"
    if exact.is_file():
        return Recipe(path=exact)
    if scripts.is_dir():
        for candidate in sorted(scripts.iterdir(), key=lambda p: p.name):
            if candidate.name.startswith(step) and candidate.is_file():
                return Recipe(path=candidate)
    names = [f"{step}.template"]
    if step not in _EXPLICIT_ONLY:
        names.append(DEFAULT_TEMPLATE)
    for name in names:
        template = work / TEMPLATES_DIR / name
        if template.is_file():
            return Recipe(path=template, template=True)
    return None


class ScriptPlugin:
    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        #: work directory → step → its recipe (None: it has none), until it is deployed again.
        self._recipes: dict[Path, dict[str, Recipe | None]] = {}

    async def run(self, step: str, context: StepContext) -> StepResult:
        if step == DEPLOY:
            self._recipes.pop(context.work_dir, None)

        async def in_work_dir(work: Path) -> StepResult:
            known = self._recipes.setdefault(work, {})
            if step not in known:
                known[step] = find_recipe(work, step)
            recipe = known[step]
            if recipe is None:
                return no_recipe(step)
            return await self._execute(step, context, work, recipe)

        result = await run_in_work_dir(step, context, in_work_dir)
        if step == UNDEPLOY and result.ok:
            self._recipes.pop(context.work_dir, None)
        return result

    async def _execute(
        self, step: str, context: StepContext, work: Path, recipe: Recipe
    ) -> StepResult:
        label = recipe.path.relative_to(work).as_posix()
        started = self._clock.monotonic()
        try:
            with _program(step, context, recipe) as program:
                outcome = await run_program(
                    [str(program)],
                    cwd=program.parent,
                    env=recipe_environment(step, context),
                    limits=context.limits,
                    log=_log,
                    label=f"{context.instance_path} {step}",
                )
        except (OSError, TemplateError) as error:
            reason = f"{label} could not be prepared: {error}"
            return StepResult(step=step, ok=False, reason=reason)
        duration = self._clock.monotonic() - started
        return outcome_result(step, label, outcome, context.limits, duration)


@contextlib.contextmanager
def _program(step: str, context: StepContext, recipe: Recipe) -> Iterator[Path]:
    """The file to execute: the script made executable, or the rendered template (removed
    afterwards)."""
    if not recipe.template:
        _make_executable(recipe.path)
        yield recipe.path
        return
    text = render_template(
        recipe.path.read_text("utf-8"), template_data(step, context), recipe.path.parent
    )
    handle, name = tempfile.mkstemp(prefix=f".{step}-", suffix=".rendered", dir=recipe.path.parent)
    rendered = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        rendered.chmod(stat.S_IRWXU)
        yield rendered
    finally:
        rendered.unlink(missing_ok=True)


def _make_executable(path: Path) -> None:
    """Add the execute bits where the read bits are (a copy may have lost them)."""
    mode = path.stat().st_mode
    wanted = mode | stat.S_IXUSR | ((mode & (stat.S_IRGRP | stat.S_IROTH)) >> 2)
    if wanted != mode:
        path.chmod(wanted)
