#!/usr/bin/env python3
"""The webstack's Database: a small key-value store over HTTP, kept in a JSON file.

``GET /kv/<key>`` → the value (404 when unset), ``PUT /kv/<key>`` with a JSON body stores it,
``POST /kv/<key>/increment`` adds one to a number atomically (the app servers count visits with
it: a read then a write from two servers at once would lose visits), ``GET /health``. Every
change is written to the file before the answer, so a restart loses nothing.
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from webstack import JsonHandler, serve, server_arguments, write_json


class Store:
    """The key-value data, one lock around every read and write of it."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}

    def get(self, key: str) -> tuple[bool, Any]:
        with self._lock:
            return key in self._data, self._data.get(key)

    def size(self) -> int:
        with self._lock:
            return len(self._data)

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            write_json(self._path, self._data)

    def increment(self, key: str) -> int:
        with self._lock:
            current = self._data.get(key, 0)
            value = (current if isinstance(current, int) else 0) + 1
            self._data[key] = value
            write_json(self._path, self._data)
            return value


class DatabaseHandler(JsonHandler):
    store: Store  # set by main()

    def do_GET(self) -> None:
        if self.path == "/health":
            self.send_health(keys=self.store.size())
            return
        key = self.key()
        if key is None:
            return
        found, value = self.store.get(key)
        if found:
            self.send_json(200, {"key": key, "value": value})
        else:
            self.send_json(404, {"error": f"no value for key {key!r}: PUT one first"})

    def do_PUT(self) -> None:
        key = self.key()
        if key is None:
            return
        try:
            value = json.loads(self.read_body() or b"null")
        except ValueError as error:
            self.send_json(400, {"error": f"the body must be JSON ({error})"})
            return
        self.store.put(key, value)
        self.send_json(200, {"key": key, "value": value})

    def do_POST(self) -> None:
        if not self.path.endswith("/increment"):
            self.send_json(404, {"error": "POST only /kv/<key>/increment"})
            return
        self.path = self.path.removesuffix("/increment")
        key = self.key()
        if key is not None:
            self.send_json(200, {"key": key, "value": self.store.increment(key)})

    def key(self) -> str | None:
        """The key of a ``/kv/<key>`` path; answers 404 and returns None for other paths."""
        prefix = "/kv/"
        key = urllib.parse.unquote(self.path[len(prefix) :]) if self.path.startswith(prefix) else ""
        if not key:
            self.send_json(404, {"error": f"no such path {self.path!r}: use /kv/<key>"})
            return None
        return key


def main(argv: Sequence[str]) -> None:
    parser = server_arguments("A small key-value store over HTTP.")
    parser.add_argument("--data", type=Path, required=True, help="the JSON file of the data")
    options = parser.parse_args(argv)
    DatabaseHandler.store = Store(options.data)
    serve(DatabaseHandler, options.host, options.port)


if __name__ == "__main__":
    main(sys.argv[1:])
