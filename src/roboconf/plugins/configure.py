"""Target configuration scripts (spec 50), run the way recipes are.

A target component's folder may ship scripts beside its definitions: those whose name holds
``dm.configure.script.`` run on the DM once the machine has an address, those whose name holds
``agent.script.`` run on the agent when it gets its model. Same contract as a recipe: run
directly (``/bin/sh`` when not executable), own process group, timeout, bounded output.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path

from roboconf.plugins.base import StepLimits, StepResult
from roboconf.plugins.process import outcome_result, run_program

log = logging.getLogger(__name__)

DM_SCRIPT = "dm.configure.script."
AGENT_SCRIPT = "agent.script."
#: files of a target folder that never leave the DM
DM_ONLY = "local."


async def run_configuration_script(
    script: Path, env: Mapping[str, str], limits: StepLimits
) -> StepResult:
    """Run ``script`` from its folder with ``env``; the result says how it went and why."""
    argv = [str(script)] if os.access(script, os.X_OK) else ["/bin/sh", str(script)]
    label = f"the configuration script {script.name}"
    started = time.monotonic()
    outcome = await run_program(
        argv, cwd=script.parent, env=env, limits=limits, log=log, label=script.name
    )
    return outcome_result("configure", label, outcome, limits, time.monotonic() - started)
