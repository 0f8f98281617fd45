"""F1: an agent process killed (SIGKILL), later restarted (80-quality.md).

Pass: the DM sees the machine silent (PROBLEM), withdraws its exports so the importer stops
(UNRESOLVED); restarted, the agent gets its model back, reports the states it had reached
(the database is not deployed again) and republishes; the importer starts again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.brokers import require_shared_broker
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

pytestmark = pytest.mark.integration


def test_a_killed_agent_is_detected_and_resumes_its_instances_when_restarted(
    tmp_path: Path,
) -> None:
    url = require_shared_broker()

    async def scenario() -> None:
        async with platform(tmp_path, url, TWO_MACHINES.format(db_data="")) as p:
            await p.start_all()
            assert p.journal_lines().count("/db-vm/db deploy ") == 1

            os.kill(p.agent_pid("/db-vm"), signal.SIGKILL)
            await p.until_status({"/db-vm": PROBLEM, "/app-vm/app": UNRESOLVED})
            assert "silent" in (p.app.get("/db-vm").reason or "")
            assert "/app-vm/app stop " in p.journal_lines()  # stopped because of its imports

            # the machine's supervisor starts the agent again, with the same configuration
            log = (p.agent_config("/db-vm").parent / "agent.log").open("ab")
            restarted = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "roboconf",
                    "agent",
                    "--config",
                    str(p.agent_config("/db-vm")),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=p.agent_config("/db-vm").parent,
                start_new_session=True,
            )
            try:
                await p.until_status(
                    {"/db-vm": STARTED, "/db-vm/db": STARTED, "/app-vm/app": STARTED}
                )
                lines = p.journal_lines()
                assert lines.count("/db-vm/db deploy ") == 1, "the database was deployed again"
                assert lines.count("/db-vm/db start ") == 1, "the database was started again"
                assert not any(r.status in TRANSITIONAL for r in p.app)
                await p.undeploy_all()
                assert "/db-vm/db undeploy " in p.journal_lines()
            finally:
                # not the handler's process (it started the one that was killed)
                restarted.terminate()
                await asyncio.to_thread(restarted.wait, 30)
                log.close()
        no_process_left(tmp_path / "dm")

    run(scenario)
