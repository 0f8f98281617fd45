#!/usr/bin/env bash
# Database, stop: stop the key-value store (succeeds when it does not run).
exec python3 "$(dirname "$0")/../files/webstack.py" stop
