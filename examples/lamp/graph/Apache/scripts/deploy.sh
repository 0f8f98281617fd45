#!/usr/bin/env bash
# Apache, deploy: install Apache httpd (when the image lacks it) with the modules of a balancer
# over AJP, and the site of this application; update.sh writes the balancer's members.
set -euo pipefail
if ! command -v apache2ctl >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends apache2
fi
a2enmod -q proxy proxy_ajp proxy_balancer lbmethod_byrequests slotmem_shm status >/dev/null
a2dissite -q 000-default >/dev/null 2>&1 || true

mkdir -p /var/www/roboconf-lamp
cat > /var/www/roboconf-lamp/index.html <<'PAGE'
<!doctype html>
<html><body><p>No Tomcat server is started yet: Apache has no member to balance over.</p></body></html>
PAGE
cat > /etc/apache2/sites-available/roboconf-lamp.conf <<SITE
# Written by Roboconf (Apache's deploy.sh). The members are in roboconf-lamp-members.conf.
<VirtualHost *:${port:-80}>
    DocumentRoot /var/www/roboconf-lamp
    <Location "/balancer-manager">
        SetHandler balancer-manager
    </Location>
    ProxyPass "/balancer-manager" "!"
    ProxyPass "/server-status" "!"
    IncludeOptional /etc/apache2/roboconf-lamp-members.conf
</VirtualHost>
SITE
a2ensite -q roboconf-lamp >/dev/null
exec bash "$(dirname "$0")/update.sh"
