"""Recipes an agent received from the DM (``RecipeFiles``), kept in its data folder.

Each component's files go to ``<data dir>/recipes/<component>/``, written aside then renamed, so
that a step never sees half a folder; a component whose digest did not change is not rewritten.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path, PurePosixPath

from roboconf.messaging.messages import RecipeFiles

DIGEST_FILE = ".roboconf-digest"


class UnsafeRecipePath(ValueError):
    """A received path leaves its component's folder."""


def store_recipes(root: Path, message: RecipeFiles) -> bool:
    """Write ``message``'s files under ``root/<component>``; False when they were already
    there (same digest). Paths that would leave the folder are refused whole."""
    component = _safe_name(message.component)
    target = root / component
    digest_file = target / DIGEST_FILE
    if digest_file.is_file() and digest_file.read_text() == message.digest:
        return False
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{component}-", dir=root))
    try:
        for relative, content in message.files.items():
            path = staging / _safe_relative(relative)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        (staging / DIGEST_FILE).write_text(message.digest)
        old = root / f".{component}.old"
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return True


def _safe_name(component: str) -> str:
    if not component or "/" in component or "\\" in component or component in (".", ".."):
        raise UnsafeRecipePath(f"component name {component!r} cannot be a folder name")
    return component


def _safe_relative(relative: str) -> Path:
    path = PurePosixPath(relative)
    if path.is_absolute() or ".." in path.parts or not path.parts or "\\" in relative:
        raise UnsafeRecipePath(f"recipe path {relative!r} leaves its component's folder")
    return Path(*path.parts)
