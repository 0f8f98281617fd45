#!/usr/bin/env bash
# Tomcat, check: succeed iff Tomcat runs and its AJP connector accepts connections.
set -euo pipefail
source "$(dirname "$0")/tomcat.sh"
tomcat_runs || { echo "Tomcat does not run (no process for $CATALINA_PID)" >&2; exit 1; }
ajp_answers || { echo "Tomcat's AJP port ${portAJP:-8009} refuses connections" >&2; exit 1; }
