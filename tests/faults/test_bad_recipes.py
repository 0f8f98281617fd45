"""F5: recipes that fail, hang, or print megabytes, run by a real agent process (80-quality.md).

Pass: a failure comes back with its reason (exit code) and the tail of its output; a hanging
step times out into PROBLEM; a flood of output costs nothing but a bounded tail; and all the
while the agent stays responsive (its machine never looks silent); nothing stays transitional.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from roboconf.model import InstanceStatus
from tests.brokers import require_shared_broker
from tests.faults.conftest import (
    NOT_DEPLOYED,
    PROBLEM,
    STARTED,
    TRANSITIONAL,
    no_process_left,
    platform,
    run,
)

pytestmark = pytest.mark.integration

ONE_MACHINE = """
instance of VM {
    name: vm;
    instance of Failing {
        name: failing;
    }
    instance of Hanging {
        name: hanging;
    }
    instance of Flooding {
        name: flooding;
    }
}
"""
STEP_TIMEOUT_S = 3.0


def test_failing_hanging_and_flooding_recipes_are_reported_and_the_agent_keeps_up(
    tmp_path: Path,
) -> None:
    url = require_shared_broker()

    async def scenario() -> None:
        async with platform(tmp_path, url, ONE_MACHINE, step_timeout_s=STEP_TIMEOUT_S) as p:
            machine_states: list[InstanceStatus] = []
            events = p.service.dm.watch()
            await p.service.bulk(p.app.name, "deploy-and-start-all", None, None)

            def settled(app: object) -> bool:
                return (
                    p.status("/vm/flooding") is STARTED
                    and p.status("/vm/hanging") is PROBLEM
                    and p.status("/vm/failing") is NOT_DEPLOYED
                    and p.app.get("/vm/failing").reason is not None
                )

            await p.until("every recipe came to its end", settled)
            while not events.empty():
                event = events.get_nowait()
                if event.path == "/vm":
                    machine_states.append(event.status)
            p.service.dm.unwatch(events)

            failing = p.app.get("/vm/failing")
            assert "3" in (failing.reason or ""), failing.reason
            assert "boom: the disk is full" in failing.output_tail

            hanging = p.app.get("/vm/hanging")
            assert "timed out" in (hanging.reason or "") or "timeout" in (hanging.reason or "")

            flooding = p.app.get("/vm/flooding")
            assert flooding.reason is None
            assert PROBLEM not in machine_states, "the machine looked silent during the flood"
            assert p.status("/vm") is STARTED

            await p.undeploy_all()
            assert not any(r.status in TRANSITIONAL for r in p.app)
        no_process_left(tmp_path / "dm")

    run(scenario)
