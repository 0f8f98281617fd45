#!/bin/bash
set -euo pipefail
echo "stop" >> "${LOG:-/dev/null}"
