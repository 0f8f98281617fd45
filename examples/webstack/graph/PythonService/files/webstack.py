#!/usr/bin/env python3
"""The runtime every webstack server shares, and the recipe steps that control it.

As a program (``python3 webstack.py STEP ...``) it is what the recipe scripts call: ``deploy``,
``start SERVER [ARGS...]``, ``stop``, ``check``, ``undeploy [STATE_FILE...]`` and ``providers
PREFIX FILE`` (writes the providers of an imported prefix, read from the script plug-in's
environment, to a JSON file a server watches). As a module it gives the servers their HTTP basics
(:class:`JsonHandler`, :class:`WatchedJson`, :func:`serve`).

It lives in the recipes of ``PythonService``, which the three servers extend: the script
plug-in merges a component's recipe folder over its super components', so each server's work
folder holds this file next to its own. Python standard library only.

State lives in the instance's work dir: the parent of ``ROBOCONF_FILES_DIR`` (the engine's
per-instance copy of the recipe folder), or the recipe folder itself when the scripts are run by
hand. There: ``server.pid``, ``server.log`` and each server's own files; relative paths given to
``start`` and ``providers`` are relative to it. The server listens on ``$ip`` (default
127.0.0.1) and ``$port``, the instance's exported variables.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

FILES_DIR = Path(__file__).resolve().parent
PID_FILE = "server.pid"
LOG_FILE = "server.log"
START_TIMEOUT = 10.0  # seconds for a server to answer /health
STOP_TIMEOUT = 10.0  # seconds for a server to exit after SIGTERM
POLL = 0.1
MIN_PYTHON = (3, 9)


# ---------------------------------------------------------------- what a server is made of


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler that answers JSON and knows the Roboconf instance it serves."""

    server_version = "webstack/1.0"

    def send_json(self, status: int, body: object) -> None:
        data = (json.dumps(body, indent=2) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_health(self, **extra: object) -> None:
        """``/health``: the process id lets ``start`` tell its server from another one."""
        self.send_json(200, {"status": "ok", "pid": os.getpid(), **identity(), **extra})

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""


def identity() -> dict[str, str]:
    """Which instance this process serves, from the script plug-in's environment."""
    return {
        "instance": os.environ.get("ROBOCONF_INSTANCE_NAME", "unknown"),
        "path": os.environ.get("ROBOCONF_INSTANCE_PATH", "unknown"),
        "component": os.environ.get("ROBOCONF_COMPONENT_NAME", "unknown"),
    }


class WatchedJson:
    """A JSON file re-read when it is replaced or changed, or after :meth:`reload`.

    Its writers replace it atomically (a new inode each time), so a change is never missed, even
    within the file system's time resolution. A broken file keeps the last good value.
    """

    def __init__(self, path: Path, default: Any) -> None:
        self._path = path
        self._value = default
        self._signature: tuple[int, int, int] | None = None
        self._problem = ""
        self._lock = threading.Lock()

    def reload(self) -> None:
        with self._lock:
            self._signature = None

    def get(self) -> Any:
        with self._lock:
            try:
                stat = self._path.stat()
                signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
                if signature != self._signature:
                    self._value = json.loads(self._path.read_text())
                    self._signature = signature
                    self._problem = ""
                    log(f"read {self._path.name}: {json.dumps(self._value)}")
            except (OSError, ValueError) as error:
                if str(error) != self._problem:  # once, not at every request
                    self._problem = str(error)
                    log(f"cannot read {self._path}, keeping the last value: {error}")
            return self._value


def server_arguments(description: str) -> argparse.ArgumentParser:
    """The command line every server takes: where to listen."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    return parser


def serve(handler: type[BaseHTTPRequestHandler], host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT, then close the socket."""

    def terminate(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(f"stopping on signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    server = ThreadingHTTPServer((host, port), handler)
    log(f"{identity()['path']} listening on http://{host}:{port}/ (pid {os.getpid()})")
    try:
        server.serve_forever()
    except (SystemExit, KeyboardInterrupt) as stop:
        log(str(stop) or "stopping")
    finally:
        server.server_close()


def log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}", file=sys.stderr, flush=True)


def write_json(path: Path, value: object) -> None:
    """Replace ``path`` atomically: readers see the old file or the new one, never half."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as file:
        json.dump(value, file, indent=2)
        file.write("\n")
    os.replace(temporary, path)


# ---------------------------------------------------------------- the recipe steps


class StepError(Exception):
    """A step failed: the message says why and what to do; the script exits non-zero."""


def work_dir() -> Path:
    files = os.environ.get("ROBOCONF_FILES_DIR")
    work = Path(files).parent if files else FILES_DIR.parent
    work.mkdir(parents=True, exist_ok=True)
    return work


def address() -> tuple[str, int]:
    """Where the server listens: the instance's ``ip`` and ``port`` exports.

    The script plug-in sets exported variables under their local names, lower case.
    """
    port = os.environ.get("port", "")  # noqa: SIM112
    if not port.isdigit():
        raise StepError(
            f"no valid port ({port!r}): the instance must export 'port' "
            "(run by hand: port=8000 ./start.sh)"
        )
    return os.environ.get("ip") or "127.0.0.1", int(port)  # noqa: SIM112


def health(host: str, port: int) -> dict[str, Any] | None:
    """The server's ``/health`` answer, or None when nothing healthy answers."""
    probe = "127.0.0.1" if host in ("0.0.0.0", "") else host
    try:
        with urllib.request.urlopen(f"http://{probe}:{port}/health", timeout=2) as response:
            answer = json.loads(response.read())
    except (OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not reaped yet, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): trust kill
    return stat.rpartition(")")[2].split()[0] != "Z"


def ours(pid: int, work: Path) -> bool:
    """Whether ``pid`` is our server and not a process that reused a stale PID."""
    if not Path("/proc/self").exists():
        return True  # no /proc (macOS): trust the PID file
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd")) == work.resolve()
    except OSError:
        return False


def running_pid(work: Path) -> int | None:
    """The PID of this instance's running server; a stale PID file is removed."""
    pid_file = work / PID_FILE
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if alive(pid) and ours(pid, work):
        return pid
    pid_file.unlink(missing_ok=True)
    return None


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)
    return True


def log_tail(work: Path, offset: int = 0, lines: int = 20) -> str:
    try:
        with (work / LOG_FILE).open("rb") as file:
            file.seek(offset)
            text = file.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def deploy() -> None:
    if sys.version_info < MIN_PYTHON:
        raise StepError(
            f"python3 is {sys.version.split()[0]}; the webstack servers need "
            f"{'.'.join(map(str, MIN_PYTHON))} or later: install a newer python3 on this machine"
        )
    print(f"work dir ready: {work_dir()}")


def start(server: str, arguments: Sequence[str]) -> None:
    """Launch the server detached, then wait until it answers ``/health``."""
    work = work_dir()
    host, port = address()
    pid = running_pid(work)
    if pid is None:
        pid = launch(work, host, port, [str(FILES_DIR / server), *arguments])
    elif wait_until(lambda: answers(host, port, pid), START_TIMEOUT):
        print(f"{server} is already running")
    else:
        raise StepError(
            f"{server} runs (pid {pid}) but does not answer http://{host}:{port}/health: "
            "stop it (stop.sh) and start it again"
        )
    print(f"{server} answers on http://{host}:{port}/ (pid {pid})")


def launch(work: Path, host: str, port: int, command: Sequence[str]) -> int:
    """Start ``python3 COMMAND --host HOST --port PORT`` in its own session; its PID."""
    log_file = work / LOG_FILE
    offset = log_file.stat().st_size if log_file.exists() else 0
    with log_file.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, *command, "--host", host, "--port", str(port)],
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # detached: no terminal, no pipe shared with the engine
        )
    (work / PID_FILE).write_text(f"{process.pid}\n")
    ready = wait_until(
        lambda: process.poll() is not None or answers(host, port, process.pid), START_TIMEOUT
    )
    if ready and process.poll() is None:
        return process.pid
    if ready:
        problem = f"exited with code {process.returncode} (is the port taken?)"
    else:
        problem = f"did not answer /health within {START_TIMEOUT:.0f} s, stopped it"
        stop_process(process.pid)
    (work / PID_FILE).unlink(missing_ok=True)
    raise StepError(
        f"{Path(command[0]).name} on http://{host}:{port}/ {problem}; its log says:\n"
        f"{log_tail(work, offset)}"
    )


def answers(host: str, port: int, pid: int) -> bool:
    """Whether the server with this PID (not another one on the port) answers ``/health``."""
    return (health(host, port) or {}).get("pid") == pid


def stop_process(pid: int) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers."""
    for sig, timeout in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, STOP_TIMEOUT)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        if wait_until(lambda: not alive(pid), timeout):
            return
    raise StepError(f"process {pid} survived SIGKILL: check it with 'ps -p {pid}'")


def stop() -> None:
    work = work_dir()
    pid = running_pid(work)
    if pid is None:
        print("not running")
        return
    stop_process(pid)
    (work / PID_FILE).unlink(missing_ok=True)
    print(f"stopped (pid {pid})")


def check() -> None:
    work = work_dir()
    host, port = address()
    answer = health(host, port)
    pid = running_pid(work)
    if answer is None or (pid is not None and answer.get("pid") != pid):
        raise StepError(f"nothing healthy answers http://{host}:{port}/health")
    print(f"healthy: {json.dumps(answer)}")


def undeploy(state_files: Sequence[str]) -> None:
    stop()
    work = work_dir()
    for name in (PID_FILE, LOG_FILE, *state_files):
        (work / name).unlink(missing_ok=True)
    print("state removed")


def providers(prefix: str, environment: Mapping[str, str]) -> list[dict[str, str]]:
    """The providers of an imported prefix: ``[{"name": path, "ip": ..., "port": ...}, ...]``.

    From ``<prefix>_size`` and ``<prefix>_<i>_<var>``; on ``update``, the changed provider is
    also dropped (``DEPLOYED_STOPPED``) or added when missing (``DEPLOYED_STARTED``), so the list
    is right whether or not the engine already counts the change in the indexed variables.
    """
    size = environment.get(f"{prefix}_size", "0")
    result = []
    for i in range(int(size) if size.isdigit() else 0):
        head = f"{prefix}_{i}_"
        result.append({k[len(head) :]: v for k, v in environment.items() if k.startswith(head)})
    if environment.get("ROBOCONF_IMPORT_CHANGED_COMPONENT") != prefix:
        return result
    changed = environment.get("ROBOCONF_IMPORT_CHANGED_INSTANCE_PATH")
    status = environment.get("ROBOCONF_UPDATE_STATUS")
    if status == "DEPLOYED_STOPPED":
        result = [provider for provider in result if provider.get("name") != changed]
    elif status == "DEPLOYED_STARTED" and all(p.get("name") != changed for p in result):
        head = "ROBOCONF_IMPORT_CHANGED_"
        values = {k[len(head) :]: v for k, v in environment.items() if k.startswith(head)}
        values.pop("INSTANCE_PATH", None)
        values.pop("COMPONENT", None)
        result.append({"name": changed or "unknown", **values})
    return result


def write_providers(prefix: str, name: str) -> None:
    path = work_dir() / name
    found = providers(prefix, os.environ)
    write_json(path, found)
    listed = ", ".join(
        f"{p.get('name', 'unnamed')} at {p.get('ip')}:{p.get('port')}" for p in found
    )
    print(f"{len(found)} {prefix} provider(s) written to {path.name}: {listed or 'none'}")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description="The recipe steps of a webstack server.")
    steps = parser.add_subparsers(dest="step", required=True)
    steps.add_parser("deploy", help="prepare the work dir")
    starting = steps.add_parser("start", help="launch a server detached, wait for /health")
    starting.add_argument("server", help="the server's file in files/")
    starting.add_argument("arguments", nargs=argparse.REMAINDER)
    steps.add_parser("stop", help="stop the server (succeeds when it does not run)")
    steps.add_parser("check", help="succeed iff the server answers /health")
    removing = steps.add_parser("undeploy", help="stop, then remove the state files")
    removing.add_argument("state_files", nargs="*")
    listing = steps.add_parser("providers", help="write an imported prefix's providers as JSON")
    listing.add_argument("prefix")
    listing.add_argument("file")
    options = parser.parse_args(argv)
    try:
        if options.step == "deploy":
            deploy()
        elif options.step == "start":
            start(options.server, options.arguments)
        elif options.step == "stop":
            stop()
        elif options.step == "check":
            check()
        elif options.step == "undeploy":
            undeploy(options.state_files)
        else:
            write_providers(options.prefix, options.file)
    except StepError as error:
        print(f"{identity()['path']}: {options.step} failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
