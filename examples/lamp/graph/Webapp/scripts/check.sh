#!/usr/bin/env bash
# Webapp, check: succeed iff Tomcat serves the page (which reads the database).
exec curl -fs -o /dev/null --max-time 5 http://127.0.0.1:8080/demo/
