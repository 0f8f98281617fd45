"""Where an instance's recipes live and run: ``<data dir>/<installer>/<clean path>/``.

Instance names come from users and may hold anything (``../x``, ``/``, quotes, spaces, unicode,
hundreds of characters). The directory name keeps only word characters (letters of any script,
digits, ``_``), so it can never be ``..``, never holds a separator, and is cut (with a digest of
the full path, to stay unique) before it reaches the file system's name limit. Paths named by
recipes (the file plug-in) are checked with :func:`inside` after resolving symbolic links.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from roboconf.model.variables import clean_path

#: a directory name stays well under the usual 255-byte limit of file systems.
_MAX_NAME_BYTES = 200
#: how much of a too long name is kept before the digest.
_KEPT_BYTES = 120
_NON_WORD = re.compile(r"\W")


def safe_name(text: str) -> str:
    """``a b/c.d`` → ``a_b_c_d``: one directory name made of word characters only."""
    return _NON_WORD.sub("_", text)


def work_dir_name(instance_path: str) -> str:
    """The work directory's name: the clean path, word characters only, bounded in length."""
    name = safe_name(clean_path(instance_path))
    encoded = name.encode("utf-8")
    if name and len(encoded) <= _MAX_NAME_BYTES:
        return name
    digest = hashlib.sha256(instance_path.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    head = encoded[:_KEPT_BYTES].decode("utf-8", "ignore")
    return f"{head}_{digest}"


def work_dir(data_dir: Path, installer: str, instance_path: str) -> Path:
    return data_dir / (safe_name(installer) or "_") / work_dir_name(instance_path)


def inside(root: Path, relative: str) -> Path | None:
    """``root/relative`` with links resolved, or None when that is not strictly inside ``root``
    (an absolute path, ``..`` climbing out, a symbolic link pointing away, ``root`` itself)."""
    base = root.resolve()
    target = (base / relative).resolve()
    if target == base or not target.is_relative_to(base):
        return None
    return target
