"""A real DM behind a real HTTP server, for the API tests.

The embedded platform (DM service, embedded router, in-memory agents with simulated plug-ins,
SQLite in a temporary folder) and uvicorn run in a thread of their own, on their own event loop;
tests talk to it over HTTP from the test's thread, as any client would. One server per test
module (tests use names of their own), on a port the kernel picks.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from roboconf.api import ApiSettings, create_app
from roboconf.cli.embedded import EmbeddedOptions, embedded_service
from tests.conftest import ROOT

WEBSTACK = ROOT / "examples" / "webstack"
#: name and version of the example template, as its descriptor gives them
TEMPLATE = ("webstack", "1.0.0")
#: seconds any wait of these tests may last
PATIENCE_S = 30.0
#: an idle event stream sends a comment this often (short, so that tests see one)
HEARTBEAT_S = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveServer:
    """A running DM: ``url`` is the server's root, ``api`` the root of ``/api/v1``."""

    url: str

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def websocket(self) -> str:
        return f"ws{self.url.removeprefix('http')}/api/v1/events"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.api, timeout=PATIENCE_S)


@contextlib.contextmanager
def live_server(data_dir: Path) -> Iterator[LiveServer]:
    """Serve the embedded platform until the block ends (then stop it cleanly)."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    started = threading.Event()
    failures: list[BaseException] = []
    control: dict[str, Callable[[], None]] = {}

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        control["stop"] = lambda: loop.call_soon_threadsafe(stop.set)
        options = EmbeddedOptions(data_dir=data_dir, simulate=True, heartbeat_s=0.5)
        async with embedded_service(options) as service:
            app = create_app(service, ApiSettings(heartbeat_s=HEARTBEAT_S))
            config = uvicorn.Config(app, log_level="warning", lifespan="off")
            server = uvicorn.Server(config)
            async with asyncio.TaskGroup() as group:
                serving = group.create_task(server.serve(sockets=[listening]))
                async with asyncio.timeout(PATIENCE_S):
                    while not server.started and not serving.done():
                        await asyncio.sleep(0.01)
                started.set()
                await stop.wait()
                server.should_exit = True

    def main() -> None:
        try:
            asyncio.run(serve())
        except BaseException as error:  # reported to the test's thread
            failures.append(error)
        finally:
            started.set()

    thread = threading.Thread(target=main, name=f"dm api :{port}", daemon=True)
    thread.start()
    started.wait(PATIENCE_S)
    try:
        if failures or not thread.is_alive():
            raise RuntimeError(f"the DM did not start: {failures!r}")
        yield LiveServer(url=f"http://127.0.0.1:{port}")
    finally:
        if "stop" in control:
            control["stop"]()
        thread.join(PATIENCE_S)
        listening.close()
    if failures:
        raise failures[0]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("dm")) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as http:
        yield http


@pytest.fixture(scope="module")
def webstack(client: httpx.Client) -> dict[str, Any]:
    """The example template, uploaded once per module."""
    answer = client.post("/templates", files={"file": ("webstack.zip", template_zip())})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def template_zip(
    folder: Path = WEBSTACK, replace: Mapping[str, Callable[[str], str]] | None = None
) -> bytes:
    """A template folder zipped in memory; ``replace`` rewrites some files (relative path →
    function of their text)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if not path.is_file():
                continue
            relative = path.relative_to(folder).as_posix()
            rewrite = (replace or {}).get(relative)
            if rewrite is None:
                archive.write(path, relative)
            else:
                archive.writestr(relative, rewrite(path.read_text(encoding="utf-8")))
    return buffer.getvalue()


def with_version(version: str) -> dict[str, Callable[[str], str]]:
    """A ``replace`` for :func:`template_zip`: the example under another version."""
    return {
        "descriptor/application.properties": lambda text: text.replace(
            "version = 1.0.0", f"version = {version}"
        )
    }


def create_application(client: httpx.Client, name: str) -> dict[str, Any]:
    name_, version = TEMPLATE
    answer = client.post(
        "/applications", json={"name": name, "template": name_, "version": version}
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def wait_for_all(client: httpx.Client, app: str, status: str) -> list[dict[str, Any]]:
    """Poll until every instance of ``app`` has ``status`` (bounded); the instances."""
    deadline = time.monotonic() + PATIENCE_S
    while True:
        instances: list[dict[str, Any]] = client.get(f"/applications/{app}/instances").json()
        if all(i["status"] == status for i in instances):
            return instances
        if time.monotonic() > deadline:
            states = {i["path"]: i["status"] for i in instances}
            raise AssertionError(f"{app}: not all {status} after {PATIENCE_S} s: {states}")
        time.sleep(0.05)
