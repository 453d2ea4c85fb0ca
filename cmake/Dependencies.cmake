# Every dependency comes from a Debian package (see scripts/install-deps.sh); nothing is fetched.
find_package(PkgConfig REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium>=1.0.18)
# SHA-256 only (protocol/crypto.cpp): OpenSSL's uses the CPU's SHA extensions, libsodium's does not.
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto)
# sd_notify(3): the daemons' readiness and watchdog under systemd (app/service_notify.h).
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
find_package(SQLite3 REQUIRED)
# The log in PostgreSQL, for a fleet of VS nodes (docs/STORE.md §11).
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
# Configuration files are TOML, read by a real parser that reports line and column.
find_package(tomlplusplus 3 REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(spdlog REQUIRED)
find_package(Threads REQUIRED)
# vsd's allocator (tcmalloc, the minimal build: no profiler): about 2 % of vsd's CPU a message at
# capacity and 9 % at scale against glibc's malloc (docs/PERFORMANCE.md, "tcmalloc for vsd").
# Not under the sanitizers, whose own allocator must see every allocation.
if(NOT GSVS_SANITIZE AND NOT GSVS_FUZZ)
  pkg_check_modules(TCMALLOC IMPORTED_TARGET libtcmalloc_minimal)
  if(NOT TCMALLOC_FOUND)
    message(FATAL_ERROR "tcmalloc (pkg-config libtcmalloc_minimal) not found: install the Debian "
                        "package libgoogle-perftools-dev, or run scripts/install-deps.sh")
  endif()
endif()
find_package(GTest REQUIRED)
