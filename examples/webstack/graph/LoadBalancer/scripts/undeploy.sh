#!/usr/bin/env bash
# LoadBalancer, undeploy: stop the proxy, remove its back ends and log.
exec python3 "$(dirname "$0")/../files/webstack.py" undeploy backends.json
