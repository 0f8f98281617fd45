#!/usr/bin/env bash
# MySQL, start: start MariaDB, then create the application's database (idempotent).
set -euo pipefail
service mariadb start
mariadb < "$ROBOCONF_FILES_DIR/lamp.sql"
