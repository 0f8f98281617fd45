#!/usr/bin/env bash
# MySQL, check: succeed iff MariaDB answers.
exec mariadb-admin --connect-timeout=5 ping
