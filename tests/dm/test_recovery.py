"""Crash recovery: a real ``roboconf dm`` process killed with SIGKILL in the middle of deploying
well over 100 instances, then started again on the same data directory.

What must hold: every request acknowledged before the kill is there (the instance added and
started last is deployed too), the application converges to all started, each machine is
created once after the restart (no duplicate), and nothing stays in a transitional state.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from roboconf.dm import library
from tests.helpers import free_port

MACHINES = 40
#: a guard against waiting forever (not a timing check)
PATIENCE = 90.0
ROBOCONF = Path(sys.executable).parent / "roboconf"

GRAPH = """\
VM {
\tinstaller: target;
\tchildren: Store, App;
}
Store {
\tinstaller: script;
\texports: ip, port = 5000;
\tchildren: App;
}
App {
\tinstaller: script;
\timports: Store.ip, Store.port;
}
"""
#: a step lasts 0.1 to 0.9 s, so that the deployment is well under way when the DM is killed
SLOW = "#!/bin/bash\nsleep 0.$((RANDOM % 9 + 1))\n"


def template(root: Path) -> Path:
    lines = []
    for index in range(MACHINES):
        lines += [
            "instance of VM {",
            f"\tname: vm{index};",
            "\tinstance of Store {",
            "\t\tname: store;",
            "\t}",
            "\tinstance of App {",
            "\t\tname: app;",
            "\t\tcount: 2;",
            "\t}",
            "}",
        ]
    files = {
        "descriptor/application.properties": (
            "name = crash\nversion = 1.0\ngraph-entry-point = main.graph\n"
            "instance-entry-point = model.instances\n"
        ),
        "graph/main.graph": GRAPH,
        "graph/VM/target.properties": "id = vm\nhandler = in-memory\n",
        "instances/model.instances": "\n".join(lines) + "\n",
    }
    for component in ("Store", "App"):
        for step in ("deploy", "start"):
            files[f"graph/{component}/scripts/{step}.sh"] = SLOW
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if path.suffix == ".sh":
            path.chmod(0o755)
    return root


class DmProcess:
    """``roboconf dm`` as a child process on a free port."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api/v1"
        self.log = log.open("ab")
        env = {**os.environ, "PATH": f"{ROBOCONF.parent}:/usr/local/bin:/usr/bin:/bin"}
        self.process = subprocess.Popen(
            [
                str(ROBOCONF),
                "dm",
                "--data-dir",
                str(data_dir),
                "--port",
                str(self.port),
                "--heartbeat",
                "1",
                "--log-level",
                "warning",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        self.client = httpx.Client(base_url=self.url, timeout=10)
        wait_for(lambda: self._healthy(), "the DM to answer")

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the DM exited with {self.process.returncode}")
        try:
            return self.client.get("/health").status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.client.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.client.close()
        self.log.close()


def wait_for(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def dm_processes(tmp_path: Path) -> Iterator[Callable[[], DmProcess]]:
    started: list[DmProcess] = []

    def start() -> DmProcess:
        started.append(DmProcess(tmp_path / "dm", tmp_path / "dm.log"))
        return started[-1]

    yield start
    for process in started:
        process.stop()


def counts(dm: DmProcess) -> dict[str, int]:
    return dict(dm.client.get("/applications/crash").json()["counts"])


def test_a_dm_killed_during_a_deployment_converges_after_a_restart(
    tmp_path: Path, dm_processes: Callable[[], DmProcess]
) -> None:
    dm = dm_processes()
    archive = library.pack(template(tmp_path / "template"))
    uploaded = dm.client.post("/templates", files={"file": ("crash.zip", archive)})
    assert uploaded.status_code == 201, uploaded.text
    created = dm.client.post(
        "/applications", json={"name": "crash", "template": "crash", "version": "1.0"}
    )
    assert created.status_code == 201, created.text
    total = created.json()["instances"]
    assert total == MACHINES * 4 > 100

    assert dm.client.post("/applications/crash/deploy-and-start-all", json={}).status_code == 202
    wait_for(lambda: counts(dm).get("DEPLOYED_STARTED", 0) >= total // 5, "a fifth started")
    added = dm.client.post(
        "/applications/crash/instances",
        json={"parent": "/vm0/store", "component": "App", "name": "late", "overrides": {}},
    )
    assert added.status_code == 201, added.text
    requested = dm.client.post(
        "/applications/crash/instance/state",
        params={"path": "/vm0/store/late"},
        json={"status": "DEPLOYED_STARTED"},
    )
    assert requested.status_code == 202, requested.text
    before_kill = counts(dm)
    dm.kill()
    assert before_kill.get("DEPLOYED_STARTED", 0) < total, "killed too late to test anything"

    restarted_at = time.time()
    restarted = dm_processes()
    wait_for(
        lambda: counts(restarted).get("DEPLOYED_STARTED", 0) == total + 1,
        "every instance started again",
    )
    instances = restarted.client.get("/applications/crash/instances").json()
    assert {i["status"] for i in instances} == {"DEPLOYED_STARTED"}
    late = restarted.client.get("/applications/crash/instance", params={"path": "/vm0/store/late"})
    assert late.json()["desired"] == "DEPLOYED_STARTED"

    machine_ups: list[str] = []
    after: int | None = None
    while True:
        page = restarted.client.get(
            "/events",
            params={"application": "crash", "limit": 1000, **({"before": after} if after else {})},
        ).json()
        fresh = [e for e in page if e["at"] >= restarted_at]
        machine_ups += [e["path"] for e in fresh if e["kind"] == "machine.up"]
        if len(fresh) < len(page) or not page:
            break
        after = page[-1]["id"]
    assert sorted(machine_ups) == sorted(f"/vm{i}" for i in range(MACHINES)), "one creation each"
