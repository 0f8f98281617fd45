#!/bin/bash
set -euo pipefail
echo "start behind ${Lb_size} balancer(s): ${Lb_0_lb_ip}:${Lb_0_lb_port}" >> "${LOG:-/dev/null}"
