"""Shared test fixtures.

Integration tests and the conformance corpus are skipped *with a reason* when what they need is
missing; with ``ROBOCONF_STRICT_SKIPS=1`` (set by ``.ci/run``) every such skip is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STRICT_SKIPS = os.environ.get("ROBOCONF_STRICT_SKIPS", "") not in ("", "0", "false")


def skip_or_fail(reason: str) -> None:
    """Skip with a reason, or fail when skips are forbidden (CI)."""
    if STRICT_SKIPS:
        pytest.fail(f"{reason} (ROBOCONF_STRICT_SKIPS is set: skips are failures)")
    pytest.skip(reason)


def conformance_dir() -> Path | None:
    explicit = os.environ.get("ROBOCONF_CONFORMANCE_DIR")
    candidates = [Path(explicit)] if explicit else []
    candidates.append(ROOT.parent / "shared" / "conformance")
    for candidate in candidates:
        if (candidate / "expectations.json").is_file():
            return candidate
    return None
