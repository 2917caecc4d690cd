# The Debian package (CPack DEB): binary, systemd unit, sample configuration, docs, man page.
#
# `cpack -G DEB` in a build tree writes sluice_<version>_<arch>.deb. The binary's own install
# rule (proxy/proxy_sources.cmake) installs to bin/, under /usr in the package. The unit and the
# configuration have absolute destinations because Debian wants them outside /usr; a plain
# `cmake --install` puts them there too, so stage such installs with DESTDIR.

set(SLUICE_DEPLOY_DIR ${PROJECT_SOURCE_DIR}/deploy)

# Man pages ship gzipped (Debian policy 12.1); -n leaves the name and time out of the header so
# the package is reproducible.
set(SLUICE_MAN_PAGE ${PROJECT_BINARY_DIR}/deploy/sluice.1)
add_custom_command(
  OUTPUT ${SLUICE_MAN_PAGE}.gz
  COMMAND ${CMAKE_COMMAND} -E copy ${SLUICE_DEPLOY_DIR}/sluice.1 ${SLUICE_MAN_PAGE}
  COMMAND gzip -9 -n -f ${SLUICE_MAN_PAGE}
  DEPENDS ${SLUICE_DEPLOY_DIR}/sluice.1
  COMMENT "Compressing the sluice(1) man page"
  VERBATIM)
add_custom_target(sluice_man_page ALL DEPENDS ${SLUICE_MAN_PAGE}.gz)

install(FILES ${SLUICE_DEPLOY_DIR}/systemd/sluice.service DESTINATION /lib/systemd/system)
install(FILES ${SLUICE_DEPLOY_DIR}/sluice.ini DESTINATION /etc/sluice)
file(GLOB SLUICE_DOCS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${SLUICE_DOCS} DESTINATION share/doc/sluice)
install(FILES ${SLUICE_MAN_PAGE}.gz DESTINATION share/man/man1)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sluice)
set(CPACK_PACKAGE_VENDOR "sluice developers")
set(CPACK_PACKAGE_CONTACT "sluice developers <dev@sluice.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "MySQL and MariaDB connection-pool proxy")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# The package is installed under /usr whatever CMAKE_INSTALL_PREFIX a developer build uses.
set(CPACK_SET_DESTDIR OFF)
# The debug symbols go to sluice-dbgsym_<version>_<arch>.ddeb and the package gets a stripped
# binary with a build-id link to them. (CPACK_STRIP_FILES would strip first and lose them.)
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "sluice developers <dev@sluice.invalid>")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The synopsis line is CPACK_PACKAGE_DESCRIPTION_SUMMARY; this is the extended description.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "sluice runs beside an application and serves its MySQL connections from a
bounded pool of backend connections. Statements wait in a FIFO queue with a
timeout when every backend connection is busy, and session state never leaks
between clients.")

# Shared-library dependencies come from dpkg-shlibdeps (package dpkg-dev); adduser is for the
# postinst, which creates the sluice system user.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${SLUICE_DEPLOY_DIR}/debian/conffiles
    ${SLUICE_DEPLOY_DIR}/debian/postinst
    ${SLUICE_DEPLOY_DIR}/debian/prerm
    ${SLUICE_DEPLOY_DIR}/debian/postrm)
# Maintainer scripts 0755 and conffiles 0644 whatever their mode in the checkout.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
