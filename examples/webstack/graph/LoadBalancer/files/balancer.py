#!/usr/bin/env python3
"""The webstack's LoadBalancer: an HTTP reverse proxy that round-robins over its back ends.

The back ends are a JSON file of AppServer providers (``[{"name", "ip", "port"}, ...]``) that the
recipes rewrite hot: ``start.sh`` first, ``update.sh`` whenever an app server comes or goes. The
proxy re-reads the file when it changes, or at once on SIGHUP; it never restarts.

Every request but ``GET /health`` (the balancer's own, listing its back ends) goes to the next back
end in turn; the answer carries ``X-Webstack-Backend: <instance path> (<ip>:<port>)``. A back end
that refuses the connection is skipped for the next one; with no back end at all the answer is
503, saying so.
"""

from __future__ import annotations

import http.client
import itertools
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from webstack import JsonHandler, WatchedJson, serve, server_arguments

BACKEND_HEADER = "X-Webstack-Backend"
BACKEND_TIMEOUT = 30.0
# Hop-by-hop headers concern one connection, not the request; the proxy sets its own framing.
NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
NOT_RETURNED = NOT_FORWARDED | {"content-length", "date", "server"}


class Rotation:
    """The back ends of the watched file, each request starting at the next one."""

    def __init__(self, backends: WatchedJson) -> None:
        self._backends = backends
        self._turn = itertools.count()
        self._lock = threading.Lock()

    def current(self) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self._backends.get()
        return [b for b in listed if b.get("ip") and str(b.get("port", "")).isdigit()]

    def next_order(self) -> list[dict[str, Any]]:
        """Every back end, starting with the one whose turn it is."""
        backends = self.current()
        if not backends:
            return []
        with self._lock:
            first = next(self._turn) % len(backends)
        return backends[first:] + backends[:first]


def label(backend: dict[str, Any]) -> str:
    return f"{backend.get('name', 'unnamed')} ({backend['ip']}:{backend['port']})"


class BalancerHandler(JsonHandler):
    rotation: Rotation  # set by main()

    def do_GET(self) -> None:
        if self.path == "/health":
            self.send_health(backends=[label(b) for b in self.rotation.current()])
        else:
            self.forward()

    def forward(self) -> None:
        """Send the request to the next back end that accepts a connection."""
        order = self.rotation.next_order()
        if not order:
            self.send_json(
                503,
                {
                    "error": "no back end: no AppServer is started behind this load balancer; "
                    "deploy and start one, its update recipe adds it here"
                },
            )
            return
        body = self.read_body()
        refused = []
        for backend in order:
            connection = http.client.HTTPConnection(
                backend["ip"], int(backend["port"]), timeout=BACKEND_TIMEOUT
            )
            try:
                connection.connect()
            except OSError as error:
                refused.append(f"{label(backend)}: {error}")
                continue
            try:
                self.relay(connection, backend, body)
            except (OSError, http.client.HTTPException) as error:
                self.send_json(502, {"error": f"back end {label(backend)} failed: {error}"})
            finally:
                connection.close()
            return
        self.send_json(502, {"error": "no back end accepts connections", "refused": refused})

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = forward

    def relay(
        self, connection: http.client.HTTPConnection, backend: dict[str, Any], body: bytes
    ) -> None:
        connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            if name.lower() not in NOT_FORWARDED | {"content-length"}:
                connection.putheader(name, value)
        connection.putheader("X-Forwarded-For", self.client_address[0])
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        data = response.read()
        self.send_response(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in NOT_RETURNED:
                self.send_header(name, value)
        length = response.getheader("Content-Length") if self.command == "HEAD" else None
        self.send_header("Content-Length", length or str(len(data)))
        self.send_header(BACKEND_HEADER, label(backend))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def main(argv: Sequence[str]) -> None:
    parser = server_arguments("An HTTP load balancer over the webstack's app servers.")
    parser.add_argument(
        "--backends", type=Path, required=True, help="the JSON file of the AppServer providers"
    )
    options = parser.parse_args(argv)
    backends = WatchedJson(options.backends, [])
    signal.signal(signal.SIGHUP, lambda _signum, _frame: backends.reload())
    BalancerHandler.rotation = Rotation(backends)
    serve(BalancerHandler, options.host, options.port)


if __name__ == "__main__":
    main(sys.argv[1:])
