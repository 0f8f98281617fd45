#!/usr/bin/env bash
# LoadBalancer, start: write the back ends (AppServer providers) from the imports, launch
# the proxy detached, succeed once it answers /health.
set -euo pipefail
webstack="$(dirname "$0")/../files/webstack.py"
python3 "$webstack" providers AppServer backends.json
exec python3 "$webstack" start balancer.py --backends backends.json
