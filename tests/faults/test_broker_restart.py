"""F3: the RabbitMQ broker stopped for 10 s, then started again (80-quality.md).

A private node (own ports and data: the machine's broker is never touched) carries a DM and
two agent processes. Pass: everyone reconnects by itself; the DM, which could not hear anyone
meanwhile, does not take that for lost machines; states and exports are resynchronised, so a
provider stopped after the outage still reaches its importer; nothing stays transitional.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from roboconf.model import InstanceStatus
from tests.brokers import private_rabbit
from tests.faults.conftest import (
    HEARTBEAT_S,
    STARTED,
    TRANSITIONAL,
    TWO_MACHINES,
    UNRESOLVED,
    no_process_left,
    platform,
    run,
)

pytestmark = pytest.mark.integration

OUTAGE_S = 10.0
SETTLE_S = 3 * HEARTBEAT_S + 2.0


def test_dm_and_agents_come_back_by_themselves_after_a_broker_restart(tmp_path: Path) -> None:
    with private_rabbit(tmp_path / "rabbitmq") as node:

        async def scenario() -> None:
            async with platform(tmp_path, node.url, TWO_MACHINES.format(db_data="")) as p:
                await p.start_all()
                events = p.service.dm.watch()

                await asyncio.to_thread(node.stop)
                await asyncio.sleep(OUTAGE_S)
                await asyncio.to_thread(node.start)

                # longer than the DM's window for missed heartbeats once it hears again: had
                # an agent not come back, its machine would be lost by now
                await asyncio.sleep(SETTLE_S)
                for machine in ("/db-vm", "/app-vm"):
                    up, silent = p.service.dm.silence(p.app.name, machine) or (False, None)
                    assert up and silent is not None and silent < SETTLE_S, (machine, silent)
                seen = []
                while not events.empty():
                    seen.append(events.get_nowait())
                p.service.dm.unwatch(events)
                assert not [e for e in seen if e.status is InstanceStatus.PROBLEM], seen
                assert p.app.all_in(STARTED)

                # messaging works end to end again: a provider stopped, then started
                await p.service.request_state(
                    p.app.name, "/db-vm/db", InstanceStatus.DEPLOYED_STOPPED
                )
                await p.until_status({"/app-vm/app": UNRESOLVED})
                await p.service.request_state(p.app.name, "/db-vm/db", STARTED)
                await p.until("all started again", lambda app: app.all_in(STARTED))
                assert not any(r.status in TRANSITIONAL for r in p.app)
                await p.undeploy_all()
            no_process_left(tmp_path / "dm")

        run(scenario)
