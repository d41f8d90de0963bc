# What `cmake --install` puts under the prefix for C++ programs: the public headers,
# libmirai.so, the exported target mirai::mirai with miraiConfig.cmake and its version file,
# and mirai.pc. The `mirai` binary and the templates are installed by their directories.
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/mirai DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS mirai EXPORT miraiTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
set(MIRAI_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/mirai)
install(EXPORT miraiTargets NAMESPACE mirai:: DESTINATION ${MIRAI_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/miraiConfig.cmake.in
  ${PROJECT_BINARY_DIR}/miraiConfig.cmake INSTALL_DESTINATION ${MIRAI_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/miraiConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/miraiConfig.cmake ${PROJECT_BINARY_DIR}/miraiConfigVersion.cmake
  DESTINATION ${MIRAI_CMAKE_DIR})
# Relocatable: the prefix is found from the .pc file's own place, so `--prefix P` works.
file(RELATIVE_PATH MIRAI_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
configure_file(${PROJECT_SOURCE_DIR}/cmake/mirai.pc.in ${PROJECT_BINARY_DIR}/mirai.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/mirai.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# `cpack -G DEB` in the build directory: a Debian package of the same install (prefix /usr),
# whose dependencies dpkg-shlibdeps reads from the binaries.
set(CPACK_PACKAGE_NAME mirai)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "async evaluation with daemons on local cores, ssh hosts and HPC job arrays")
set(CPACK_PACKAGE_CONTACT "mirai for C++ developers <mirai-cpp@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
# The installed headers include nlohmann/json.hpp.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "nlohmann-json3-dev")
include(CPack)
