#!/usr/bin/env bash
# Installs the Debian packages the project builds, tests and runs with, when any is missing.
# Works as root, or through sudo otherwise. Safe to run again: it installs only what is absent.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libsodium-dev libssl-dev libsystemd-dev libsqlite3-dev sqlite3 libpq-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libboost-dev
  libspdlog-dev libgtest-dev libgmock-dev
  libgoogle-perftools-dev  # tcmalloc_minimal, vsd's allocator (cmake/Dependencies.cmake)
  clang libclang-rt-14-dev python3 python3-jsonschema
  clang-format clang-tidy cppcheck
  lld  # scripts/test.sh links the sanitizer build with it (README.md, "What CI spends its time on")
  systemd  # systemd-analyze: the test that verifies packaging/*.service (needs no running systemd)
  lintian  # scripts/package.sh's checks of the .deb
  postgresql  # the PostgreSQL store's tests start a server of their own (tests/support/postgres_server.h)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "install-deps: missing packages (${missing[*]}) and not root, and no sudo to install them" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
