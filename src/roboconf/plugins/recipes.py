"""Recipe files in the work directory: copied at deploy, removed after undeploy.

The recipe folders of the component and of its super components are merged into the work
directory, the furthest super component first, so that a component's file replaces the same file
of the components it extends, and a component inherits the steps it does not redefine. Lookups
(scripts, templates, instructions) then read the merged work directory only.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

from roboconf.plugins.base import UNDEPLOY, StepContext, StepResult, check_step

_log = logging.getLogger(__name__)


async def prepare_work_dir(step: str, context: StepContext) -> Path:
    """The work directory, with the recipes copied in at ``deploy`` (refreshing them) or at
    any step when there is no work directory yet (an agent that lost its data).

    Raises OSError when the copy fails or the directory would fall outside the data directory
    (a symbolic link planted in it).
    """
    work = context.work_dir
    if step == "deploy" or not work.is_dir():
        await asyncio.to_thread(_copy_recipes, context.recipe_dirs, work, context.data_dir)
    return work


async def run_in_work_dir(
    step: str, context: StepContext, body: Callable[[Path], Awaitable[StepResult]]
) -> StepResult:
    """Prepare the work directory, run ``body`` in it, and remove it after a successful
    ``undeploy`` (an undeployed instance keeps no files; a failed undeploy keeps them to look at).
    """
    check_step(step)
    try:
        work = await prepare_work_dir(step, context)
    except OSError as error:
        reason = f"the recipes could not be copied into {context.work_dir}: {error}"
        return StepResult(step=step, ok=False, reason=reason)
    result = await body(work)
    if result.ok and step == UNDEPLOY and work.is_dir():
        try:
            await asyncio.to_thread(shutil.rmtree, work)
        except OSError as error:
            _log.warning(
                "%s: could not remove %s after undeploy: %s", context.instance_path, work, error
            )
    return result


def _copy_recipes(recipe_dirs: tuple[Path, ...], work: Path, data_dir: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    if not work.resolve().is_relative_to(data_dir.resolve()):
        raise OSError(f"the work directory {work} leads outside {data_dir} (a symbolic link?)")
    for folder in reversed(recipe_dirs):
        if folder.is_dir():
            shutil.copytree(folder, work, dirs_exist_ok=True)
