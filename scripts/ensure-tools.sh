#!/usr/bin/env bash
# ensure-tools.sh — install, from Debian's packages, the command-line tools
# the tests drive when they are missing: the MQTT clients (mosquitto_pub,
# mosquitto_sub), the Mosquitto 2 broker, Chromium (the console's browser
# journeys) and HAProxy (the balancer in front of the multi-node test's
# nodes). PostgreSQL is handled by with-postgres.sh, npm's packages by
# make.
set -uo pipefail

missing=()
command -v mosquitto_pub >/dev/null 2>&1 && command -v mosquitto_sub >/dev/null 2>&1 || missing+=(mosquitto-clients)
# The broker itself (with mosquitto_ctrl and the dynamic security plugin),
# for the tests of an external broker; Debian starts it as a service too,
# on 1883, which the tests never use.
[[ -x /usr/sbin/mosquitto ]] || missing+=(mosquitto)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v haproxy >/dev/null 2>&1 || [[ -x /usr/sbin/haproxy ]] || missing+=(haproxy)
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=()
if [[ $(id -u) -ne 0 ]]; then
	command -v sudo >/dev/null 2>&1 || { echo "ensure-tools: need ${missing[*]} and cannot install (not root, no sudo)" >&2; exit 1; }
	if [[ -t 0 ]]; then sudo=(sudo); else sudo=(sudo -n); fi
	sudo+=(env DEBIAN_FRONTEND=noninteractive)
fi
command -v apt-get >/dev/null 2>&1 || { echo "ensure-tools: need ${missing[*]}; apt-get is unavailable" >&2; exit 1; }
echo "ensure-tools: installing ${missing[*]}" >&2
{ "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; } >&2
