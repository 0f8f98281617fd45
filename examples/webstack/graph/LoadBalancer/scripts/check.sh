#!/usr/bin/env bash
# LoadBalancer, check: succeed iff the proxy answers /health.
exec python3 "$(dirname "$0")/../files/webstack.py" check
