#!/usr/bin/env bash
# Webapp, deploy: assemble the web application in its work folder (the page and MariaDB's JDBC
# driver); start.sh writes where the database is and hands it to Tomcat.
set -euo pipefail
if [[ ! -e /usr/share/java/mariadb-java-client.jar ]]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libmariadb-java
fi
app="$ROBOCONF_FILES_DIR/../demo"
rm -rf "$app"
cp -r "$ROBOCONF_FILES_DIR/demo" "$app"
mkdir -p "$app/WEB-INF/lib"
cp /usr/share/java/mariadb-java-client.jar "$app/WEB-INF/lib/"
