#!/usr/bin/env bash
# Webapp, start: write where the database is (the imports are all known now), hand the
# application to Tomcat (it deploys what appears in webapps/), succeed once it serves the page.
set -euo pipefail
bash "$(dirname "$0")/update.sh"
webapps=/var/lib/tomcat10/webapps
rm -rf "$webapps/.demo"
cp -r "$ROBOCONF_FILES_DIR/../demo" "$webapps/.demo"
rm -rf "$webapps/demo"
mv "$webapps/.demo" "$webapps/demo"
for _ in $(seq 120); do
    curl -fs -o /dev/null --max-time 5 http://127.0.0.1:8080/demo/ && exit 0
    sleep 0.5
done
echo "Tomcat does not serve /demo/ within 60 s:" >&2
curl -s --max-time 5 http://127.0.0.1:8080/demo/ | sed -n 's/.*<b>Message<\/b> \(.*\)<\/p><p><b>Description.*/\1/p' >&2 || true
exit 1
