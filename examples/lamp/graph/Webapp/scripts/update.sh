#!/usr/bin/env bash
# Webapp, update (and start): write where the database is; the page reads it at each request,
# so a new database address needs no reload.
set -euo pipefail
write() {
    cat > "$1.new" <<PROPERTIES
instance = $ROBOCONF_INSTANCE_PATH
database.ip = ${MySQL_0_ip:-}
database.port = ${MySQL_0_port:-}
PROPERTIES
    mv "$1.new" "$1"
}
write "$ROBOCONF_FILES_DIR/../demo/WEB-INF/roboconf.properties"
deployed=/var/lib/tomcat10/webapps/demo
if [[ -d "$deployed/WEB-INF" ]]; then
    write "$deployed/WEB-INF/roboconf.properties"
fi
