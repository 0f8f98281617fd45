#!/usr/bin/env bash
# MySQL, deploy: install MariaDB (when the image lacks it) and let it listen to the machines'
# network, for the web application on other machines.
set -euo pipefail
if ! command -v mariadbd >/dev/null && [[ ! -x /usr/sbin/mariadbd ]]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mariadb-server mariadb-client
fi
cat > /etc/mysql/mariadb.conf.d/90-roboconf.cnf <<CONF
# Written by Roboconf (MySQL's deploy.sh)
[mysqld]
bind-address = 0.0.0.0
port = ${port:-3306}
CONF
