"""The ``logger`` installer: logs each step and succeeds. For models and simulations."""

from __future__ import annotations

import logging

from roboconf.plugins.base import StepContext, StepResult, check_step

_log = logging.getLogger(__name__)


class LoggerPlugin:
    async def run(self, step: str, context: StepContext) -> StepResult:
        check_step(step)
        _log.info(
            "%s: %s (component %s, application %s)",
            context.instance_path,
            step,
            context.component,
            context.application,
        )
        return StepResult(step=step, ok=True, reason=f"{step} logged")
