"""F4: a machine cut off the network, then reconnected (80-quality.md).

The database's agent reaches the broker through a proxy the test cuts. Pass: the DM sees the
machine silent (PROBLEM), withdraws its exports, the importer stops (UNRESOLVED); reconnected,
the agent comes back by itself, republishes, the importer starts again; nothing is deployed or
started twice on the machine that was cut off, nothing stays transitional.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.brokers import SHARED_HOST, SHARED_PORT, require_shared_broker
from tests.faults.conftest import (
    PROBLEM,
    STARTED,
    TRANSITIONAL,
    TWO_MACHINES,
    UNRESOLVED,
    no_process_left,
    platform,
    run,
)
from tests.faults.proxy import CuttableProxy

pytestmark = pytest.mark.integration


def test_a_machine_cut_off_is_lost_then_comes_back_and_its_importers_follow(
    tmp_path: Path,
) -> None:
    require_shared_broker()
    url = f"amqp://guest:guest@{SHARED_HOST}:{SHARED_PORT}/"

    async def scenario() -> None:
        async with CuttableProxy(SHARED_HOST, SHARED_PORT) as proxy:
            through_proxy = (
                f"data.local.agent.rabbitmq.url: amqp://guest:guest@127.0.0.1:{proxy.port}/;"
            )
            instances = TWO_MACHINES.format(db_data=through_proxy)
            async with platform(tmp_path, url, instances) as p:
                await p.start_all()
                assert proxy.connections == 1, "the database's agent does not use the proxy"

                proxy.cut()
                await p.until_status({"/db-vm": PROBLEM, "/app-vm/app": UNRESOLVED})
                assert "silent" in (p.app.get("/db-vm").reason or "")

                proxy.restore()
                await p.until_status(
                    {"/db-vm": STARTED, "/db-vm/db": STARTED, "/app-vm/app": STARTED}
                )
                assert proxy.connections >= 2, "the agent did not reconnect"
                lines = p.journal_lines()
                assert lines.count("/db-vm/db deploy ") == 1
                assert lines.count("/db-vm/db start ") == 1
                assert lines.count("/app-vm/app start ") == 2  # before the cut, and after
                assert not any(r.status in TRANSITIONAL for r in p.app)
                await p.undeploy_all()
            no_process_left(tmp_path / "dm")

    run(scenario)
