#!/usr/bin/env bash
# LoadBalancer, stop: stop the proxy (succeeds when it does not run).
exec python3 "$(dirname "$0")/../files/webstack.py" stop
