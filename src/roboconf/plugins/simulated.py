"""Simulated installers: every step succeeds after an optional delay, nothing is executed.

One instance serves a whole agent (or a whole benchmark) and counts the steps it ran.
"""

from __future__ import annotations

from collections import Counter

from roboconf.clock import Clock, SystemClock
from roboconf.plugins.base import StepContext, StepResult, check_step


class SimulatedPlugin:
    def __init__(self, *, delay_s: float = 0.0, clock: Clock | None = None) -> None:
        self.delay_s = delay_s
        self._clock = clock or SystemClock()
        #: steps run so far, by step name.
        self.counts: Counter[str] = Counter()

    @property
    def steps_run(self) -> int:
        return self.counts.total()

    async def run(self, step: str, context: StepContext) -> StepResult:
        check_step(step)
        if self.delay_s > 0:
            await self._clock.sleep(self.delay_s)
        self.counts[step] += 1
        return StepResult(step=step, ok=True, reason=f"{step} simulated", duration_s=self.delay_s)
