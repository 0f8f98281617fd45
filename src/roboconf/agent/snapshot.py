"""What an agent remembers across its own restarts: the status of each of its instances.

The software an agent deployed outlives the agent (recipes start their daemons in sessions of
their own), so a restarted agent must not deploy it again: it reports what it had reached.
The file is rewritten (atomically) after each change, only by agents running as processes of
their own; an agent of the DM's process dies with the DM, whose store holds the truth.

A step the agent was running when it died may have half happened: such an instance comes back
in PROBLEM, saying so, until a request or a passing health check settles it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from roboconf.model import InstanceStatus

log = logging.getLogger(__name__)

FILE_NAME = "instances.json"
_VERSION = 1
_TRANSITIONAL = {
    InstanceStatus.DEPLOYING,
    InstanceStatus.STARTING,
    InstanceStatus.STOPPING,
    InstanceStatus.UNDEPLOYING,
}


def save(folder: Path, statuses: Mapping[str, InstanceStatus]) -> None:
    """Write the statuses (path → status) so that a crash never leaves half a file."""
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{FILE_NAME}.tmp"
    body = {"version": _VERSION, "instances": {p: s.value for p, s in statuses.items()}}
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump(body, file)
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(folder / FILE_NAME)


def load(folder: Path) -> dict[str, tuple[InstanceStatus, str | None]]:
    """path → (status to resume in, reason); empty when there is nothing (or nothing usable)."""
    try:
        body = json.loads((folder / FILE_NAME).read_text(encoding="utf-8"))
        recorded = {path: InstanceStatus(value) for path, value in body["instances"].items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        log.warning("%s: unreadable (%s); the agent starts afresh", folder / FILE_NAME, error)
        return {}
    resumed: dict[str, tuple[InstanceStatus, str | None]] = {}
    for path, status in recorded.items():
        if status in _TRANSITIONAL:
            reason = f"the agent stopped while {status.value}: the outcome is unknown"
            resumed[path] = (InstanceStatus.PROBLEM, reason)
        else:
            resumed[path] = (status, None)
    return resumed
