#!/usr/bin/env bash
# Installs the tools `go run ./bench` compares slotrun with: supervisord, s6,
# runit, tini and dumb-init from Debian's packages, PM2 from npm. The bench
# measures whichever of them it finds on PATH, so this script is optional and
# is not part of CI. Needs root (apt-get) and the registries of this machine.
#
#   bash bench/peers/install.sh && go run ./bench
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "install.sh: run as root (apt-get install needs it)" >&2
	exit 1
fi

# Never let a package's maintainer script start its daemon (supervisor's
# service, runit's runsvdir): the bench starts each tool itself, in a
# scratch directory, and a system-wide instance would only add noise.
# Debian's hook for that is /usr/sbin/policy-rc.d answering 101.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends supervisor s6 runit tini dumb-init >/dev/null

if command -v npm >/dev/null; then
	npm install -g --silent --no-fund --no-audit pm2 >/dev/null
	# PM2 starts its daemon on first use; the bench uses its own PM2_HOME
	# and kills that daemon itself, so none is left running here.
else
	echo "install.sh: npm not found; PM2 is skipped" >&2
fi

echo "installed:"
for tool in supervisord s6-svscan runsvdir pm2 tini dumb-init; do
	printf '  %-12s %s\n' "$tool" "$(command -v "$tool" || echo 'not found')"
done
