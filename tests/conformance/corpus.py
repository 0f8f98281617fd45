"""Access to Roboconf's conformance corpus (``../shared/conformance``).

Test modules build their parameter lists from :func:`entries`; when the corpus is absent they
get one placeholder case that skips (or fails under ``ROBOCONF_STRICT_SKIPS``), so a missing
corpus is visible instead of silently running nothing.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import conformance_dir, skip_or_fail

MISSING = (
    "conformance corpus not found (expected ../shared/conformance or ROBOCONF_CONFORMANCE_DIR)"
)


@functools.cache
def expectations() -> dict[str, Any]:
    folder = conformance_dir()
    if folder is None:
        return {}
    return json.loads((folder / "expectations.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def root() -> Path:
    folder = conformance_dir()
    if folder is None:
        skip_or_fail(MISSING)
        raise AssertionError("unreachable")
    return folder


def entries(section: str, predicate: Any = None) -> list[Any]:
    """``pytest.param`` cases for a section (a dict: ``(key, entry)``; a list: ``entry``)."""
    data = expectations().get(section)
    if data is None:
        return [pytest.param(None, None, id="corpus-missing")]
    items = list(data.items()) if isinstance(data, dict) else list(enumerate(data))
    params = []
    for key, entry in items:
        if predicate is not None and not predicate(key, entry):
            continue
        ident = str(key) if isinstance(data, dict) else f"{key}-{_short(entry)}"
        params.append(pytest.param(key, entry, id=ident))
    return params


def require(entry: Any) -> None:
    """Call first in a corpus test: skips (or fails in CI) the placeholder case."""
    if entry is None:
        skip_or_fail(MISSING)


def _short(entry: Any) -> str:
    for field in ("line", "input", "name", "property", "text"):
        value = entry.get(field) if isinstance(entry, dict) else None
        if isinstance(value, str):
            return value[:40]
    return ""
