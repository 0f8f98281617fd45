#!/usr/bin/env bash
# Tomcat, stop: stop Tomcat, killed after 20 s (succeeds when it does not run).
set -euo pipefail
source "$(dirname "$0")/tomcat.sh"
if tomcat_runs; then
    "$CATALINA_HOME/bin/catalina.sh" stop 20 -force
fi
rm -f "$CATALINA_PID"
