#!/usr/bin/env bash
# Every server, deploy: prepare the work dir (nothing to install: Python's standard library).
exec python3 "$(dirname "$0")/../files/webstack.py" deploy
