#!/usr/bin/env bash
# Apache, check: succeed iff httpd answers.
exec curl -fs -o /dev/null --max-time 5 "http://127.0.0.1:${port:-80}/server-status?auto"
