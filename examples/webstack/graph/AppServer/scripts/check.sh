#!/usr/bin/env bash
# AppServer, check: succeed iff the server answers /health.
exec python3 "$(dirname "$0")/../files/webstack.py" check
