"""The address an agent reads from its route to the messaging server (``ip = auto``)."""

from __future__ import annotations

import pytest

from roboconf.agent.address import route_address


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8181", "127.0.0.1"),
        ("amqp://guest:guest@127.0.0.1/", "127.0.0.1"),
        ("http://[::1]:8181", "::1"),
        ("not a url", None),
        ("http://no-such-host.invalid:8181", None),
    ],
)
def test_the_address_is_the_source_of_the_route_to_the_messaging_server(
    url: str, expected: str | None
) -> None:
    assert route_address(url) == expected
