#!/usr/bin/env bash
# Tomcat, deploy: install Tomcat 10 (when the image lacks it) and open its AJP connector to the
# machines' network, for Apache on another machine.
set -euo pipefail
if [[ ! -x /usr/share/tomcat10/bin/catalina.sh ]]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends tomcat10
fi
server_xml=/var/lib/tomcat10/conf/server.xml
if ! grep -q 'roboconf-ajp' "$server_xml"; then
    # No AJP secret: the connector is reached by Apache over the containers' private network;
    # on a shared network, set a secret on both sides (Tomcat's secret, mod_proxy_ajp's secret=).
    sed -i "s|</Service>|  <!-- roboconf-ajp -->\n    <Connector protocol=\"AJP/1.3\" address=\"0.0.0.0\" port=\"${portAJP:-8009}\" secretRequired=\"false\" redirectPort=\"8443\" />\n  </Service>|" "$server_xml"
fi
