#!/usr/bin/env bash
# Database, undeploy: stop the key-value store, remove its data and log.
exec python3 "$(dirname "$0")/../files/webstack.py" undeploy data.json
