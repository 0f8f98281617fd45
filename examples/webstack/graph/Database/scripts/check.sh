#!/usr/bin/env bash
# Database, check: succeed iff the key-value store answers /health.
exec python3 "$(dirname "$0")/../files/webstack.py" check
