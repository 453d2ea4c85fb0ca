# What `cmake --install` puts where, and the Debian package CPack builds from it
# (scripts/package.sh; docs/OPERATIONS.md, "The Debian package"). Paths follow the Debian
# layout when CMAKE_INSTALL_PREFIX is /usr, as scripts/package.sh sets it: programs in
# /usr/bin, units in /lib/systemd/system, configuration in /etc/gsvs, docs in
# /usr/share/doc/gsvs. gsd-rogue, the misbehaving GS of the demos and tests, is not installed.
include(GNUInstallDirs)

install(TARGETS vsd gsd client audit-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Debian 12 ships units in /lib/systemd/system, whatever the prefix.
install(FILES packaging/vsd.service packaging/gsd@.service DESTINATION /lib/systemd/system)
# Example configurations, conffiles of the package: an upgrade keeps the operator's edits.
set(GSVS_CONFIG_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/gsvs)
install(FILES packaging/vsd.toml DESTINATION ${GSVS_CONFIG_DIR})
install(FILES packaging/gsd.toml DESTINATION ${GSVS_CONFIG_DIR} RENAME gsd-example.toml)
install(FILES README.md docs/ARCHITECTURE.md docs/AUDIT.md docs/OPERATIONS.md
              docs/PERFORMANCE.md docs/PROTOCOL.md docs/STORE.md docs/report.schema.json
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME gsvs)
set(CPACK_PACKAGE_VENDOR "gsvs")
# Who answers for the package: set it to your own address (-DGSVS_PACKAGE_MAINTAINER=...).
set(GSVS_PACKAGE_MAINTAINER "gsvs maintainers <gsvs-maintainers@example.org>"
    CACHE STRING "The Maintainer field of the Debian package")
set(CPACK_PACKAGE_CONTACT "${GSVS_PACKAGE_MAINTAINER}")
# The synopsis, then the extended description in lines of at most 80 characters.
string(CONCAT CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "validation server, game server, client and audit tool of gsvs\n"
    "vsd admits allowlisted game servers, checks their traffic and issues\n"
    "short-lived play tickets, logging everything in an append-only,\n"
    "hash-chained SQLite log. gsd is the game server, client the player\n"
    "program and audit-cli the investigator's tool.")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies from the programs' ELF files (dpkg-shlibdeps); adduser for postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/postinst ${PROJECT_SOURCE_DIR}/packaging/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
