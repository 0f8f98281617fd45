#!/usr/bin/env bash
# Every server, stop: stop the server (succeeds when it does not run).
exec python3 "$(dirname "$0")/../files/webstack.py" stop
