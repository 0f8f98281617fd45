#!/usr/bin/env python3
"""The webstack's AppServer: a page naming the instance that served it, and a visit counter.

``GET /`` answers JSON: this instance's name, path and port, and the number of visits of the whole
stack, counted in the Database (``POST /kv/visits/increment``). ``GET /health`` answers while the
process runs, whether or not the database does (it says which database it uses).

The database's address comes from a JSON file of the Database providers (the recipes write it
from the imports, ``start.sh`` first, then ``update.sh`` when the database changes); the server
re-reads it when it changes, so a database move needs no restart.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from webstack import JsonHandler, WatchedJson, identity, serve, server_arguments

COUNTER = "visits"


class AppHandler(JsonHandler):
    databases: WatchedJson  # set by main()
    port: int

    def do_GET(self) -> None:
        database = self.database()
        if self.path == "/health":
            self.send_health(port=self.port, database=database)
        elif self.path != "/":
            self.send_json(404, {"error": f"no such page {self.path!r}: try /"})
        elif database is None:
            self.send_json(503, {"error": "no database yet: deploy and start a Database"})
        else:
            try:
                visits = count_visit(database)
            except (OSError, ValueError, KeyError) as error:
                self.send_json(503, {"error": f"database {database} unreachable: {error}"})
                return
            self.send_json(
                200,
                {**identity(), "port": self.port, "pid": os.getpid(), "visits": visits},
            )

    def database(self) -> str | None:
        """``ip:port`` of the first Database provider, if any."""
        providers: list[dict[str, Any]] = self.databases.get()
        usable = [p for p in providers if p.get("ip") and p.get("port")]
        return f"{usable[0]['ip']}:{usable[0]['port']}" if usable else None


def count_visit(database: str) -> int:
    """Add one to the stack's visit counter; the new count."""
    url = f"http://{database}/kv/{COUNTER}/increment"
    with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=5) as answer:
        return int(json.loads(answer.read())["value"])


def main(argv: Sequence[str]) -> None:
    parser = server_arguments("An HTTP application server counting visits in the Database.")
    parser.add_argument(
        "--database", type=Path, required=True, help="the JSON file of the Database providers"
    )
    options = parser.parse_args(argv)
    AppHandler.databases = WatchedJson(options.database, [])
    AppHandler.port = options.port
    serve(AppHandler, options.host, options.port)


if __name__ == "__main__":
    main(sys.argv[1:])
