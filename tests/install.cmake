# cmake --install and a C program built against the installed library with
# pkg-config and with find_package(advml) (label build; tests/install/).
add_test(NAME install_c_library COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install/test_install.sh)
set_tests_properties(install_c_library PROPERTIES ENVIRONMENT "${ADVML_TEST_ENV}" LABELS build TIMEOUT 600)
