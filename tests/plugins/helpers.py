"""Building contexts and recipe folders for the plug-in tests (real files, real processes)."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
from pathlib import Path
from typing import Any

from roboconf.plugins import StepContext, StepLimits

#: what every test recipe may rely on: the usual tools, nothing else from the test runner.
BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


def context(tmp_path: Path, **changes: Any) -> StepContext:
    """A context for ``/vm/app`` (component App, installer script) with its recipes in
    ``tmp_path/recipes/App`` and its data in ``tmp_path/data``."""
    values: dict[str, Any] = {
        "application": "shop",
        "instance_path": "/vm/app",
        "name": "app",
        "component": "App",
        "installer": "script",
        "data_dir": tmp_path / "data",
        "recipe_dirs": (tmp_path / "recipes" / "App",),
        "environment": BASE_ENV,
        "limits": StepLimits(timeout_s=10, kill_grace_s=1),
    }
    values.update(changes)
    return StepContext(**values)


def write(path: Path, text: str, *, executable: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if executable:
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def script(recipes: Path, name: str, body: str) -> Path:
    """``recipes/scripts/<name>``: a bash script (left without its execute bit, as a copy from
    an archive may be: the plug-in must set it)."""
    return write(recipes / "scripts" / name, "#!/bin/bash\n" + body)


def read_env_dump(path: Path) -> dict[str, str]:
    """What ``env -0 > path`` wrote: exact values, newlines and quotes included."""
    entries = path.read_bytes().decode("utf-8").split("\0")
    return dict(entry.split("=", 1) for entry in entries if entry)


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
