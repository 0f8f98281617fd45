"""A Docker engine and an offline base image for the ``docker`` target's tests.

- the engine: ``docker info`` answers, or ``dockerd`` (Debian's ``docker.io``) is started in the
  background and its socket waited for; it is left running for later tests and runs;
- the base image ``roboconf-base:bookworm``: no registry is reachable, so a minimal Debian with
  python3 is built with ``debootstrap`` from the mirror this machine's apt uses and imported with
  ``docker import``; built once (skipped when the image exists), under a lock file so that two
  pytest-xdist workers do not build it twice.

What is missing (the ``dockerd`` or ``debootstrap`` binary) is installed with ``apt-get`` only as
root in CI (``CI`` set); otherwise the test is skipped with the reason (a failure under
``ROBOCONF_STRICT_SKIPS``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail

BASE_IMAGE = "roboconf-base:bookworm"
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
SOCKET = Path("/var/run/docker.sock")
LOCK = Path(tempfile.gettempdir()) / "roboconf-docker-env.lock"
DOCKERD_LOG = Path(tempfile.gettempdir()) / "roboconf-dockerd.log"
#: seconds dockerd has to answer once started
ENGINE_START_S = 60.0
#: seconds debootstrap has to build the base image
DEBOOTSTRAP_S = 900.0


def _run(*argv: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


def _engine_answers() -> bool:
    if shutil.which("docker") is None:
        return _sdk_ping()
    try:
        return _run("docker", "info", timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _sdk_ping() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.DockerClient(base_url=f"unix://{SOCKET}", timeout=10)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _may_install() -> bool:
    return os.geteuid() == 0 and os.environ.get("CI", "") not in ("", "0", "false")


def _ensure_binary(binary: str, package: str) -> str:
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")
    if found:
        return found
    if not _may_install():
        skip_or_fail(
            f"{binary} is not installed: `apt-get install -y {package}` (done by the tests "
            "themselves only as root in CI)"
        )
    result = _run("apt-get", "install", "-y", "-q", package, timeout=600)
    if result.returncode != 0:
        _run("apt-get", "update", "-q", timeout=600)
        result = _run("apt-get", "install", "-y", "-q", package, timeout=600)
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")
    if result.returncode != 0 or not found:
        skip_or_fail(f"cannot install {package}: {result.stderr.strip()[-500:]}")
    assert found is not None
    return found


def ensure_engine() -> None:
    """A Docker engine answers on the local socket; starts ``dockerd`` when none does."""
    if _engine_answers():
        return
    dockerd = _ensure_binary("dockerd", "docker.io")
    if os.geteuid() != 0:
        skip_or_fail("no Docker engine answers and dockerd can only be started as root")
    with open(DOCKERD_LOG, "ab") as output:
        # its own session: it outlives the test run, for the next tests and runs
        subprocess.Popen(
            [dockerd],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    deadline = time.monotonic() + ENGINE_START_S
    while time.monotonic() < deadline:
        if SOCKET.exists() and _engine_answers():
            return
        time.sleep(0.5)
    tail = DOCKERD_LOG.read_text(errors="replace")[-1500:]
    skip_or_fail(f"dockerd did not answer within {ENGINE_START_S:.0f} s; its log ends:\n{tail}")


def _image_exists(name: str) -> bool:
    return _run("docker", "image", "inspect", name, timeout=30).returncode == 0


def apt_mirror() -> str:
    """The Debian mirror this machine's apt uses (deb822 ``URIs:`` or a ``deb`` line)."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for source in sources:
        try:
            text = source.read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            uris = words[1:] if words[0] == "URIs:" else words[1:2] if words[0] == "deb" else []
            for uri in uris:
                if uri.startswith("http") and "security" not in uri and "/debian" in uri:
                    return uri.rstrip("/")
    return DEFAULT_MIRROR


def build_base_image(name: str = BASE_IMAGE) -> None:
    """A minimal Debian with python3 as image ``name``, from the apt mirror, no registry."""
    debootstrap = _ensure_binary("debootstrap", "debootstrap")
    root = Path(tempfile.mkdtemp(prefix="roboconf-base-"))
    try:
        result = _run(
            debootstrap,
            "--variant=minbase",
            "--include=python3,python3-venv,python3-pip",
            SUITE,
            str(root),
            apt_mirror(),
            timeout=DEBOOTSTRAP_S,
        )
        if result.returncode != 0:
            skip_or_fail(f"debootstrap failed: {(result.stdout + result.stderr)[-1500:]}")
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            ["docker", "import", "-", name],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            timeout=600,
        )
        tar.wait(timeout=60)
        if imported.returncode != 0:
            skip_or_fail(f"docker import failed: {imported.stderr.strip()[-1000:]}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def ensure_base_image(name: str = BASE_IMAGE) -> str:
    """The engine runs and ``name`` exists (built once, under a lock across workers)."""
    with exclusively():
        ensure_engine()
        if not _image_exists(name):
            build_base_image(name)
    return name


@contextlib.contextmanager
def exclusively() -> Iterator[None]:
    """One pytest worker (or run) at a time: starting dockerd, building an image."""
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def docker_base_image() -> Iterator[str]:
    """The name of the offline base image (python3, no roboconf), the engine running."""
    yield ensure_base_image()


if __name__ == "__main__":  # build ahead: python -m tests.docker_env
    print(ensure_base_image())
