#!/usr/bin/env bash
# AppServer, start: write the Database providers from the imports, launch the server
# detached, succeed once it answers /health.
set -euo pipefail
webstack="$(dirname "$0")/../files/webstack.py"
python3 "$webstack" providers Database database.json
exec python3 "$webstack" start appserver.py --database database.json
