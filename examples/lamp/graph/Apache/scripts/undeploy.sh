#!/usr/bin/env bash
# Apache, undeploy: remove this application's site (the package stays, as it came with the image).
set -euo pipefail
a2dissite -q roboconf-lamp >/dev/null 2>&1 || true
rm -rf /etc/apache2/sites-available/roboconf-lamp.conf /etc/apache2/roboconf-lamp-members.conf /var/www/roboconf-lamp
