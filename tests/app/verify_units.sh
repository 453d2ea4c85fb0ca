#!/bin/sh
# Runs 'systemd-analyze verify' on the unit files of packaging/, with ExecStart pointed at the
# programs just built (verify checks that the command is executable). Any finding fails the test,
# also one systemd-analyze reports only as a warning (an unknown or misspelt key). It needs no
# running systemd: it reads the files, as in a container.
#   verify_units.sh SOURCE_DIR BIN_DIR
set -eu
source_dir=$1
bin_dir=$2
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "verify_units: systemd-analyze not found; install the Debian package systemd" \
    "(scripts/install-deps.sh lists it)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for unit in "$source_dir"/packaging/*.service; do
  sed "s|/usr/bin/|$bin_dir/|" "$unit" >"$work/$(basename "$unit")"
done
cd "$work"
status=0
findings=$(systemd-analyze verify --man=no ./*.service 2>&1) || status=$?
if [ "$status" -ne 0 ] || [ -n "$findings" ]; then
  echo "verify_units: systemd-analyze verify (exit $status):" >&2
  echo "$findings" >&2
  exit 1
fi
echo "verify_units: the unit files verify:" ./*.service
