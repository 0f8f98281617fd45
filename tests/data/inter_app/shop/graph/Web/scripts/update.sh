#!/bin/bash
set -euo pipefail
echo "update ${ROBOCONF_UPDATE_STATUS} ${ROBOCONF_IMPORT_CHANGED_INSTANCE_PATH}" >> "${LOG:-/dev/null}"
