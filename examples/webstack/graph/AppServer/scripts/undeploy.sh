#!/usr/bin/env bash
# AppServer, undeploy: stop the server, remove its state and log.
exec python3 "$(dirname "$0")/../files/webstack.py" undeploy database.json
