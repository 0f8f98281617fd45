#!/usr/bin/env bash
# MySQL, stop: stop MariaDB (succeeds when it does not run).
exec service mariadb stop
