#!/usr/bin/env bash
# Apache, stop: stop httpd (succeeds when it does not run).
set -euo pipefail
if [[ -s /var/run/apache2/apache2.pid ]] && kill -0 "$(cat /var/run/apache2/apache2.pid)" 2>/dev/null; then
    apache2ctl stop
    for _ in $(seq 40); do [[ -e /var/run/apache2/apache2.pid ]] || exit 0; sleep 0.25; done
fi
