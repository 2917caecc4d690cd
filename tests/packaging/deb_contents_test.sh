#!/usr/bin/env bash
# Builds the .deb from an already built tree (cpack into a scratch directory, no rebuild) and
# checks its file list, control fields and maintainer scripts.
set -euo pipefail

build_dir=${1:?usage: deb_contents_test.sh BUILD_DIR}
for tool in cpack dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is missing (packages cmake, dpkg-dev)"; exit 77; }
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/sluice-deb-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# -B keeps CPack's staging tree and the packages out of the build tree.
# cpack first builds the preinstall target (everything), so a build failure anywhere fails here;
# its log is in the scratch directory, which is removed on exit.
if ! cpack -G DEB --config "$build_dir/CPackConfig.cmake" -B "$scratch" >"$scratch/cpack.log" 2>&1; then
  cat "$scratch/cpack.log"
  for log in "$scratch"/_CPack_Packages/*/*/PreinstallOutput.log; do
    [[ -f "$log" ]] && { echo "--- end of $(basename "$log"):"; tail -n 30 "$log"; }
  done
  echo "FAIL: cpack -G DEB failed"
  exit 1
fi
shopt -s nullglob
debs=("$scratch"/sluice_*.deb)
if ((${#debs[@]} != 1)); then
  cat "$scratch/cpack.log"
  echo "FAIL: expected one sluice_*.deb in $scratch, found: ${debs[*]:-none}"
  exit 1
fi
deb=${debs[0]}
echo "built $(basename "$deb")"

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

contents=$(dpkg-deb -c "$deb")
echo "$contents"
for path in ./usr/bin/sluice ./lib/systemd/system/sluice.service ./etc/sluice/sluice.ini \
  ./usr/share/man/man1/sluice.1.gz ./usr/share/doc/sluice/README.md; do
  grep -qE " ${path//./\\.}\$" <<<"$contents" || fail "$path is not in the package"
done
grep -qE '^-rwxr-xr-x .* \./usr/bin/sluice$' <<<"$contents" || fail "/usr/bin/sluice is not mode 0755"

info=$(dpkg-deb -I "$deb")
echo "$info"
field() { dpkg-deb -f "$deb" "$1"; }
[[ "$(field Package)" == sluice ]] || fail "Package is not sluice"
[[ "$(field Section)" == net ]] || fail "Section is not net"
[[ "$(field Maintainer)" == "sluice developers <dev@sluice.invalid>" ]] || fail "wrong Maintainer"
depends=$(field Depends)
# dpkg-shlibdeps ran when the C library appears; adduser is for the postinst.
[[ "$depends" == *libc6* ]] || fail "Depends lacks libc6 (dpkg-shlibdeps did not run?): $depends"
[[ "$depends" == *adduser* ]] || fail "Depends lacks adduser: $depends"
[[ -n "$(field Description)" ]] || fail "no Description"

control="$scratch/control"
dpkg-deb -e "$deb" "$control"
[[ "$(cat "$control/conffiles" 2>/dev/null)" == /etc/sluice/sluice.ini ]] ||
  fail "conffiles does not list exactly /etc/sluice/sluice.ini"
for script in postinst prerm postrm; do
  if [[ ! -x "$control/$script" ]]; then
    fail "$script is missing or not executable"
  elif ! sh -n "$control/$script"; then
    fail "$script is not valid sh"
  fi
done
grep -q 'adduser --system' "$control/postinst" || fail "postinst does not create the sluice user"

# The packaged unit is the one in deploy/, and the binary runs.
dpkg-deb -x "$deb" "$scratch/root"
cmp -s "$scratch/root/lib/systemd/system/sluice.service" \
  "$(dirname "$0")/../../deploy/systemd/sluice.service" || fail "packaged unit differs from deploy/"
version=$("$scratch/root/usr/bin/sluice" --version) || fail "packaged sluice --version failed"
[[ "$version" == "sluice $(field Version)" ]] || fail "--version says '$version', package $(field Version)"
gzip -t "$scratch/root/usr/share/man/man1/sluice.1.gz" || fail "man page is not valid gzip"
# (Outputs are captured before grep reads them: with pipefail, grep -q or head closing the
# pipe early would make the writer's SIGPIPE decide the result.)
description=$(field Description)
if grep -qxF " ${description%%$'\n'*}" <<<"${description#*$'\n'}"; then
  fail "the Description repeats its synopsis"
fi

# The symbols are in the -dbgsym .ddeb, keyed by build id; the packaged binary has none.
ddebs=("$scratch"/sluice-dbgsym_*.ddeb)
if ((${#ddebs[@]} != 1)); then
  fail "expected one sluice-dbgsym_*.ddeb, found: ${ddebs[*]:-none}"
else
  ddeb_contents=$(dpkg-deb -c "${ddebs[0]}")
  grep -qE '\./usr/lib/debug/\.build-id/[0-9a-f]{2}/[0-9a-f]+\.debug$' <<<"$ddeb_contents" ||
    fail "the dbgsym package holds no build-id debug file"
fi
sections=$(readelf -S "$scratch/root/usr/bin/sluice")
if grep -q '\.debug_info' <<<"$sections"; then
  fail "the packaged binary is not stripped"
fi

if ((failures > 0)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "PASS"
