# What `cmake --install` and the Debian package (scripts/package, CPack) put where:
#   /usr/bin/latchkey, /lib/systemd/system/latchkey.service, /etc/latchkey/latchkey.toml
#   (a conffile), /usr/share/doc/latchkey/README.md.
# The maintainer scripts (packaging/postinst, prerm, postrm) make the latchkey system user
# and /var/lib/latchkey, and start the service where systemd runs.
install(TARGETS latchkey RUNTIME DESTINATION bin)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/latchkey.service DESTINATION /lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/latchkey.toml DESTINATION /etc/latchkey)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION share/doc/latchkey)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME latchkey)
set(CPACK_PACKAGE_VENDOR latchkey)
set(CPACK_PACKAGE_CONTACT "latchkey maintainers <latchkey@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "credential vault and authenticating gateway for AI agents")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # latchkey_VERSION_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends: from the libraries the binary links
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/conffiles ${PROJECT_SOURCE_DIR}/packaging/postinst
    ${PROJECT_SOURCE_DIR}/packaging/prerm ${PROJECT_SOURCE_DIR}/packaging/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
