#!/usr/bin/env bash
# Tomcat, start: start Tomcat detached, succeed once its AJP connector accepts connections (what
# Apache needs of it: Roboconf exports ip and portAJP once this succeeds).
set -euo pipefail
source "$(dirname "$0")/tomcat.sh"
if ! tomcat_runs; then
    rm -f "$CATALINA_PID"
    setsid "$CATALINA_HOME/bin/catalina.sh" start
fi
for _ in $(seq 120); do
    ajp_answers && exit 0
    sleep 0.5
done
echo "Tomcat did not open its AJP port ${portAJP:-8009} within 60 s; catalina.out ends:" >&2
tail -20 "$CATALINA_BASE/logs/catalina.out" >&2 || true
exit 1
