#!/usr/bin/env bash
# Apache, start: start httpd (it detaches), succeed once it answers.
set -euo pipefail
if ! { [[ -s /var/run/apache2/apache2.pid ]] && kill -0 "$(cat /var/run/apache2/apache2.pid)" 2>/dev/null; }; then
    apache2ctl start
fi
for _ in $(seq 60); do
    curl -s -o /dev/null "http://127.0.0.1:${port:-80}/" && exit 0
    sleep 0.5
done
echo "Apache does not answer on port ${port:-80}" >&2
exit 1
