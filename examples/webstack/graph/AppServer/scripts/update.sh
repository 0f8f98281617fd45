#!/usr/bin/env bash
# AppServer, update: rewrite the Database providers; the running server re-reads them.
exec python3 "$(dirname "$0")/../files/webstack.py" providers Database database.json
