"""Where the DM's API listens and what agents are told, by target (``--host`` given or not)."""

from __future__ import annotations

import pytest

from roboconf.cli import ports

BRIDGE = "172.17.0.1"


@pytest.mark.parametrize(
    ("target", "host", "expected"),
    [
        ("in-memory", None, ("127.0.0.1", "127.0.0.1")),
        ("local", None, ("127.0.0.1", "127.0.0.1")),
        ("local", "0.0.0.0", ("0.0.0.0", "127.0.0.1")),
        ("local", "10.0.0.7", ("10.0.0.7", "10.0.0.7")),
        # containers do not reach the loopback: the bridge's address by default
        ("docker", None, (BRIDGE, BRIDGE)),
        ("docker", "0.0.0.0", ("0.0.0.0", BRIDGE)),
        ("docker", "::", ("::", BRIDGE)),
        ("docker", "10.0.0.7", ("10.0.0.7", "10.0.0.7")),
    ],
)
def test_api_addresses(
    monkeypatch: pytest.MonkeyPatch, target: str, host: str | None, expected: tuple[str, str]
) -> None:
    monkeypatch.setattr(ports, "_docker_bridge", lambda: BRIDGE)
    assert ports.api_addresses(target, host) == expected
