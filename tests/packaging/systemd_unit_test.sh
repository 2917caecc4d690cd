#!/usr/bin/env bash
# `systemd-analyze verify` on the shipped unit, pointed at the built binary (verify insists that
# ExecStart= binaries exist) and at the built man page (it resolves Documentation=man:...).
# verify exits 0 on unknown keys and unparsable values and only prints them, so any output
# fails the test. It needs no running systemd.
set -euo pipefail

unit=${1:?usage: systemd_unit_test.sh UNIT SLUICE_BINARY MAN_PAGE_GZ}
binary=$(realpath "${2:?usage: systemd_unit_test.sh UNIT SLUICE_BINARY MAN_PAGE_GZ}")
man_page=${3:?usage: systemd_unit_test.sh UNIT SLUICE_BINARY MAN_PAGE_GZ}

if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze is missing (package systemd)"
  exit 77
fi
scratch=$(mktemp -d "${TMPDIR:-/tmp}/sluice-unit-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

grep -q '^ExecStart=/usr/bin/sluice --config /etc/sluice/sluice.ini$' "$unit" ||
  { echo "FAIL: ExecStart= is not the packaged command line"; exit 1; }
sed "s#/usr/bin/sluice#$binary#g" "$unit" >"$scratch/sluice.service"

# Documentation=man:sluice(1) is checked with man(1) when it is installed.
man_option=(--man=no)
if command -v man >/dev/null; then
  mkdir -p "$scratch/man/man1"
  cp "$man_page" "$scratch/man/man1/"
  export MANPATH="$scratch/man"
  man_option=(--man=yes)
fi

# --recursive-errors=no: only this unit, not the distribution's units it is ordered after.
if ! output=$(systemd-analyze verify "${man_option[@]}" --recursive-errors=no \
  "$scratch/sluice.service" 2>&1); then
  echo "$output"
  echo "FAIL: systemd-analyze verify failed"
  exit 1
fi
if [[ -n "$output" ]]; then
  echo "$output"
  echo "FAIL: systemd-analyze verify printed warnings"
  exit 1
fi
echo "systemd-analyze verify: clean (${man_option[*]})"

# Keep the hardening from eroding: every setting the issue asks for stays in the unit.
missing=0
for setting in Type=simple "ExecReload=/bin/kill -HUP \$MAINPID" KillSignal=SIGTERM \
  TimeoutStopSec=30 Restart=on-failure LimitNOFILE=65536 User=sluice Group=sluice \
  NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
  ProtectKernelTunables=yes ProtectKernelModules=yes ProtectKernelLogs=yes \
  ProtectControlGroups=yes "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" \
  RestrictNamespaces=yes LockPersonality=yes MemoryDenyWriteExecute=yes \
  SystemCallArchitectures=native CapabilityBoundingSet= AmbientCapabilities=; do
  if ! grep -qxF "$setting" "$unit"; then
    echo "FAIL: the unit lacks the line '$setting'"
    missing=$((missing + 1))
  fi
done
((missing == 0)) || exit 1
echo "PASS"
