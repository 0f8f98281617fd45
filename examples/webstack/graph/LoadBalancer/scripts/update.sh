#!/usr/bin/env bash
# LoadBalancer, update: an app server came or went; rewrite the back ends, the running proxy
# re-reads them (no restart).
exec python3 "$(dirname "$0")/../files/webstack.py" providers AppServer backends.json
