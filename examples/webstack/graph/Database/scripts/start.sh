#!/usr/bin/env bash
# Database, start: launch the key-value store detached; succeed once it answers /health.
exec python3 "$(dirname "$0")/../files/webstack.py" start database.py --data data.json
