#!/usr/bin/env bash
# Apache, update (and end of deploy): rebuild the balancer's members from the Tomcat servers
# Roboconf says are started (Tomcat_size, Tomcat_<i>_ip, Tomcat_<i>_portAJP), then reload
# gracefully: requests in progress finish, no connection is refused.
set -euo pipefail
members=/etc/apache2/roboconf-lamp-members.conf
count=0
addresses=()
{
    echo "# Written by Roboconf (Apache's update.sh): the Tomcat servers Apache balances over."
    echo '<Proxy "balancer://tomcats">'
    for ((i = 0; i < ${Tomcat_size:-0}; i++)); do
        ip="Tomcat_${i}_ip"
        ajp="Tomcat_${i}_portAJP"
        if [[ -n "${!ip:-}" && -n "${!ajp:-}" ]]; then
            echo "    BalancerMember \"ajp://${!ip}:${!ajp}\" retry=5"
            addresses+=("${!ip}:${!ajp}")
            count=$((count + 1))
        fi
    done
    echo '    ProxySet lbmethod=byrequests'
    echo '</Proxy>'
} > "$members.new"
if ((count > 0)); then
    echo 'ProxyPass "/" "balancer://tomcats/demo/"' >> "$members.new"
    echo 'ProxyPassReverse "/" "balancer://tomcats/demo/"' >> "$members.new"
    echo 'ProxyPassReverseCookiePath "/demo" "/"' >> "$members.new"
fi
mv "$members.new" "$members"
# what the balancer went through, for operators: a line per change
echo "$(date -u +%FT%T.%3NZ) $count member(s): ${addresses[*]}" >> /var/log/apache2/roboconf-members.log
echo "Apache balances over $count Tomcat server(s): ${addresses[*]}"
if [[ -s /var/run/apache2/apache2.pid ]] && kill -0 "$(cat /var/run/apache2/apache2.pid)" 2>/dev/null; then
    apache2ctl configtest
    apache2ctl graceful
fi
