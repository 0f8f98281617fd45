"""Recipe files in the work directory: copied at deploy, removed after undeploy.

The recipe folders of the component and of its super components are merged into the work
directory, the furthest super component first, so that a component's file replaces the same file
of the components it extends, and a component inherits the steps it does not redefine. Lookups
(scripts, templates, instructions) then read the merged work directory only.

Recipe folders are usually a few small scripts: copying or removing them takes a fraction of a
millisecond, less than handing the work to a worker thread costs when many instances deploy at
once. A tree of at most :data:`SMALL_ENTRIES` entries and :data:`SMALL_BYTES` bytes is therefore
copied (or removed) on the event loop's thread; a bigger one in a worker thread, so that the
loop never stalls for long (counting stops as soon as a tree is known to be big).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import shutil
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from roboconf.plugins.base import DEPLOY, UNDEPLOY, StepContext, StepResult, check_step

_log = logging.getLogger(__name__)

#: the most entries (files, folders, links) a tree copied or removed on the loop may hold...
SMALL_ENTRIES = 64
#: ...and the most bytes its files may hold.
SMALL_BYTES = 1024 * 1024


async def prepare_work_dir(step: str, context: StepContext) -> Path:
    """The work directory, with the recipes copied in at ``deploy`` (refreshing them) or at
    any step when there is no work directory yet (an agent that lost its data).

    Raises OSError when the copy fails or the directory would fall outside the data directory
    (a symbolic link planted in it).
    """
    work = context.work_dir
    if step == DEPLOY or not work.is_dir():
        copy = functools.partial(_copy_recipes, context.recipe_dirs, work, context.data_dir)
        await _run_sized(copy, context.recipe_dirs, follow_links=True)
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
            await _run_sized(functools.partial(shutil.rmtree, work), (work,), follow_links=False)
        except OSError as error:
            _log.warning(
                "%s: could not remove %s after undeploy: %s", context.instance_path, work, error
            )
    return result


async def _run_sized(
    work: Callable[[], object], trees: Sequence[Path], *, follow_links: bool
) -> None:
    """Run ``work`` (a copy or a removal of ``trees``) on the loop when the trees are small,
    else in a worker thread."""
    if is_small(trees, follow_links=follow_links):
        work()
    else:
        await asyncio.to_thread(work)


def is_small(trees: Sequence[Path], *, follow_links: bool) -> bool:
    """Do ``trees`` hold at most :data:`SMALL_ENTRIES` entries and :data:`SMALL_BYTES` bytes?

    A tree that does not exist holds nothing; one that cannot be read is not small (the work,
    in a thread, will report why).
    """
    entries = size = 0
    pending = [tree for tree in trees if os.path.lexists(tree)]
    try:
        while pending:
            with os.scandir(pending.pop()) as found:
                for entry in found:
                    entries += 1
                    if entry.is_dir(follow_symlinks=follow_links):
                        pending.append(Path(entry.path))
                    else:
                        size += entry.stat(follow_symlinks=follow_links).st_size
                    if entries > SMALL_ENTRIES or size > SMALL_BYTES:
                        return False
    except OSError:
        return False
    return True


def _copy_recipes(recipe_dirs: tuple[Path, ...], work: Path, data_dir: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    if not work.resolve().is_relative_to(data_dir.resolve()):
        raise OSError(f"the work directory {work} leads outside {data_dir} (a symbolic link?)")
    for folder in reversed(recipe_dirs):
        if folder.is_dir():
            shutil.copytree(folder, work, dirs_exist_ok=True)
