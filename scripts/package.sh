#!/usr/bin/env bash
# Builds the Debian package (CPack's DEB generator) in a Release build folder of its own, then
# checks it: its control data and file list (dpkg-deb --info, --contents), lintian, and a start
# of the packaged vsd with the packaged example configuration, from the package unpacked into a
# throwaway root (dpkg -x). It installs nothing on this machine.
# scripts/test.sh runs it last (PACKAGE=0 skips it there). The Release build is a unity build, as
# the test build is: about 5 minutes of CPU for the four programs (docs/OPERATIONS.md, section 7).
#   BUILD_DIR  build folder (default: build-package)
#   JOBS       parallel compile jobs (default: 2)
# --build-only builds the programs and stops (scripts/test.sh runs that beside the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
build_only=0
case "${1:-}" in
  "") ;;
  --build-only) build_only=1 ;;
  *)
    echo "usage: scripts/package.sh [--build-only]" >&2
    exit 2
    ;;
esac

scripts/install-deps.sh

build_dir=${BUILD_DIR:-build-package}
fail() {
  echo "package.sh: $*" >&2
  exit 1
}

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DGSVS_BUILD_TESTS=OFF -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=0 >/dev/null
cmake --build "$build_dir" -j"${JOBS:-2}" --target vsd gsd client audit-cli
[ "$build_only" = 0 ] || exit 0
rm -f "$build_dir"/gsvs_*.deb
(cd "$build_dir" && cpack -G DEB >/dev/null)
debs=("$build_dir"/gsvs_*.deb)
if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then
  fail "cpack made no single gsvs_*.deb in $build_dir"
fi
deb=${debs[0]}

dpkg-deb --info "$deb"
contents=$(dpkg-deb --contents "$deb")
echo "$contents"
for path in usr/bin/vsd usr/bin/gsd usr/bin/client usr/bin/audit-cli \
  lib/systemd/system/vsd.service lib/systemd/system/gsd@.service \
  etc/gsvs/vsd.toml etc/gsvs/gsd-example.toml usr/share/doc/gsvs/OPERATIONS.md; do
  grep -q " \./$path\$" <<<"$contents" || fail "$deb lacks /$path"
done
grep -qx "/etc/gsvs/vsd.toml" <(dpkg-deb --info "$deb" conffiles) ||
  fail "$deb does not mark /etc/gsvs/vsd.toml as a conffile"
grep -q "adduser --system" <(dpkg-deb --info "$deb" postinst) ||
  fail "$deb's postinst does not create the gsvs system user"
# vsd allocates through tcmalloc (cmake/Dependencies.cmake), so the package depends on it.
grep -q "libtcmalloc-minimal4" <(dpkg-deb --field "$deb" Depends) ||
  fail "$deb does not depend on libtcmalloc-minimal4 (is vsd linked with tcmalloc?)"

# Findings print; errors fail. A CPack package has no Debian changelog or copyright file (those
# come with a debian/ directory), so those tags are not counted.
lintian --fail-on error --suppress-tags \
  no-copyright-file,debian-changelog-file-missing,no-manual-page,unknown-section \
  "$deb"

# The package unpacked into a throwaway root, and its vsd started with its example
# configuration; paths and allowlists that name this machine's /etc and /var are overridden on
# the command line (which wins over the file).
root=$(mktemp -d)
vsd_pid=
cleanup() {
  if [ -n "$vsd_pid" ]; then kill "$vsd_pid" 2>/dev/null || true; fi
  rm -rf "$root"
}
trap cleanup EXIT
dpkg -x "$deb" "$root"
bin=$root/usr/bin
config=$root/etc/gsvs/vsd.toml
"$bin/vsd" keygen --out "$root/vs.key" >/dev/null
"$bin/gsd" keygen --out "$root/gs.key" >/dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
paths=(--key "$root/vs.key" --store "$root/vs/" --admin_socket "$root/vsd.sock"
  --listen "127.0.0.1:$port")

# As shipped, allowed_gs is empty: vsd must refuse to start, naming the key.
status=0
"$bin/vsd" run --config "$config" "${paths[@]}" >"$root/refused.out" 2>&1 || status=$?
if [ "$status" -ne 2 ] || ! grep -q "allowed_gs" "$root/refused.out"; then
  fail "the packaged vsd started with an empty allowed_gs (exit $status): $(cat "$root/refused.out")"
fi

: >"$root/vsd.out"  # before vsd runs, so that the first look at it finds the file
"$bin/vsd" run --config "$config" "${paths[@]}" --allowed_gs "$(cat "$root/gs.key.pub")" \
  --allowed_builds "$("$bin/gsd" version --sw-hash)" >"$root/vsd.out" 2>&1 &
vsd_pid=$!
for _ in $(seq 100); do
  grep -q "listening on" "$root/vsd.out" && break
  kill -0 "$vsd_pid" 2>/dev/null || fail "the packaged vsd exited: $(cat "$root/vsd.out")"
  sleep 0.2
done
grep -q "listening on" "$root/vsd.out" || fail "the packaged vsd did not start: $(cat "$root/vsd.out")"
"$bin/vsd" status --admin-socket "$root/vsd.sock" || fail "vsd status failed"
kill -TERM "$vsd_pid"
status=0
wait "$vsd_pid" || status=$?
vsd_pid=
[ "$status" -eq 0 ] || fail "the packaged vsd stopped with exit $status: $(cat "$root/vsd.out")"
echo "package.sh: $deb builds, lists its files, and its vsd runs from the unpacked package"
