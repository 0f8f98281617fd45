"""Real SSH hosts for tests: an ``sshd`` in a network namespace of its own.

Each host is a namespace joined to this one by a veth pair in a private /30 of 10.213.0.0/16
(this side ``.1``, the host ``.2``), where ``/usr/sbin/sshd`` listens with its own host key and
lets ``root`` in with a test key only. Hosts share this machine's file system: what a command
run over SSH writes is read back directly. Slots (namespace, veth and subnet) are allocated
under a file lock, skipping those in use, so parallel test workers do not collide; everything is
removed when the ``with`` ends, even on failure.

Needs root, ``ip`` and ``openssh-server`` (Debian's package): otherwise the test is skipped with
a reason (a failure under ``ROBOCONF_STRICT_SKIPS``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import skip_or_fail

SSHD = Path("/usr/sbin/sshd")
_LOCK = Path("/tmp/roboconf-ssh-hosts.lock")
_SLOTS = 16384  # /30s in 10.213.0.0/16


@dataclass(frozen=True, slots=True, kw_only=True)
class SshHost:
    address: str
    #: this side's address on the host's link: what the host reaches this machine at
    gateway: str
    #: the ``known_hosts`` line that trusts this host
    known_hosts_line: str
    #: where the host's files live (its sshd configuration and log)
    folder: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class SshHosts:
    hosts: list[SshHost]
    #: the private key that ``root`` may log in with on every host
    client_key: Path

    def known_hosts(self, path: Path) -> Path:
        path.write_text("".join(host.known_hosts_line + "\n" for host in self.hosts))
        return path


def require_sshd() -> None:
    if os.geteuid() != 0:
        skip_or_fail("SSH host tests need root (network namespaces)")
    missing = [tool for tool in ("ip", "ssh-keygen") if shutil.which(tool) is None]
    if not SSHD.is_file():
        missing.append(str(SSHD))
    if missing:
        skip_or_fail(f"SSH host tests need {', '.join(missing)} (apt-get install openssh-server)")


@contextlib.contextmanager
def ssh_hosts(folder: Path, count: int) -> Iterator[SshHosts]:
    """``count`` hosts that accept ``root`` with one key, removed afterwards."""
    require_sshd()
    folder.mkdir(parents=True, exist_ok=True)
    client_key = folder / "client_key"
    _keygen(client_key)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder
    with contextlib.ExitStack() as stack:
        hosts = [
            stack.enter_context(_host(folder / f"host{index}", client_key))
            for index in range(count)
        ]
        yield SshHosts(hosts=hosts, client_key=client_key)


@contextlib.contextmanager
def _host(folder: Path, client_key: Path) -> Iterator[SshHost]:
    folder.mkdir()
    host_key = folder / "host_key"
    _keygen(host_key)
    authorized = folder / "authorized_keys"
    authorized.write_text(client_key.with_suffix(".pub").read_text())
    slot, namespace = _allocate()
    try:
        outside, inside = _addresses(slot)
        (folder / "sshd_config").write_text(
            f"ListenAddress {inside}\nPort 22\nHostKey {host_key}\nPidFile {folder}/sshd.pid\n"
            f"AuthorizedKeysFile {authorized}\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            "StrictModes no\nUseDNS no\nLogLevel VERBOSE\n"
        )
        config = str(folder / "sshd_config")
        with open(folder / "sshd.log", "wb") as log:
            sshd = subprocess.Popen(
                ["ip", "netns", "exec", namespace, str(SSHD), "-D", "-e", "-f", config],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        try:
            _wait_listening(inside, sshd, folder / "sshd.log")
            public = host_key.with_suffix(".pub").read_text().split()
            yield SshHost(
                address=inside,
                gateway=outside,
                known_hosts_line=f"{inside} {public[0]} {public[1]}",
                folder=folder,
            )
        finally:
            sshd.terminate()
            try:
                sshd.wait(10)
            except subprocess.TimeoutExpired:
                sshd.kill()
                sshd.wait()
    finally:
        # the namespace's processes (sessions sshd left behind), the veth pair (now: a deleted
        # namespace lets its links go later), the namespace
        for pid in _namespace_pids(namespace):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        _ip("link", "del", f"rbssh{slot}a", check=False)
        _ip("netns", "del", namespace, check=False)


def _allocate() -> tuple[int, str]:
    """A free slot, its namespace created and its veth pair up (under the lock)."""
    with open(_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        used_namespaces = set(_ip("netns", "list").split())
        used_links = {
            line.split(":")[1].strip().partition("@")[0]
            for line in _ip("-o", "link").splitlines()
            if line.count(":") >= 2
        }
        for slot in range(_SLOTS):
            namespace = f"roboconf-ssh-{slot}"
            outside_link, inside_link = f"rbssh{slot}a", f"rbssh{slot}b"
            if namespace in used_namespaces or outside_link in used_links:
                continue
            outside, inside = _addresses(slot)
            _ip("netns", "add", namespace)
            try:
                _ip("link", "add", outside_link, "type", "veth", "peer", "name", inside_link)
                _ip("link", "set", inside_link, "netns", namespace)
                _ip("addr", "add", f"{outside}/30", "dev", outside_link)
                _ip("link", "set", outside_link, "up")
                _ip("-n", namespace, "addr", "add", f"{inside}/30", "dev", inside_link)
                _ip("-n", namespace, "link", "set", inside_link, "up")
                _ip("-n", namespace, "link", "set", "lo", "up")
            except BaseException:
                _ip("link", "del", outside_link, check=False)
                _ip("netns", "del", namespace, check=False)
                raise
            return slot, namespace
    raise RuntimeError("no free slot for an SSH host namespace")


def _addresses(slot: int) -> tuple[str, str]:
    base = slot * 4
    prefix = f"10.213.{base // 256}"
    return f"{prefix}.{base % 256 + 1}", f"{prefix}.{base % 256 + 2}"


def _wait_listening(address: str, sshd: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if sshd.poll() is not None:
            raise RuntimeError(f"sshd exited ({sshd.returncode}): {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection((address, 22), timeout=1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"sshd does not listen on {address}:22: {log.read_text()[-2000:]}")


def _namespace_pids(namespace: str) -> list[int]:
    return [int(pid) for pid in _ip("netns", "pids", namespace, check=False).split()]


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "roboconf-test", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )


def _ip(*args: str, check: bool = True) -> str:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout
