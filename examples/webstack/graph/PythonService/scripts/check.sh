#!/usr/bin/env bash
# Every server, check: succeed iff the server answers /health.
exec python3 "$(dirname "$0")/../files/webstack.py" check
