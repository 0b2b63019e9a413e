#!/usr/bin/env bash
# Installs what `npm run bench` drives (Debian/Ubuntu, root): iperf3 for
# throughput, sockperf for request/response latency, slirp4netns and passt
# (pasta) as the peers hnet is measured against. Idempotent.
set -euo pipefail
need=()
for pair in iperf3:iperf3 sockperf:sockperf slirp4netns:slirp4netns pasta:passt; do
  bin=${pair%%:*}; pkg=${pair#*:}
  command -v "$bin" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -eq 0 ]; then echo "bench tools present"; exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "bench/install.sh: run as root to apt-get install ${need[*]}" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}"
