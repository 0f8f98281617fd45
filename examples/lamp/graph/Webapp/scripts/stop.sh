#!/usr/bin/env bash
# Webapp, stop: take the application away from Tomcat (it undeploys what leaves webapps/).
set -euo pipefail
rm -rf /var/lib/tomcat10/webapps/demo
