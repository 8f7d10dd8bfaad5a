# latchkey_module(NAME DEPS ... [TEST_PROPERTIES ...]): one static library per folder
# under src/. TEST_PROPERTIES are ctest properties for every test of the module.
# Every *.cc beside the CMakeLists.txt is a source, except *_test.cc, which goes into
# the module's own unit-test binary, {name}_tests.
function(latchkey_module name)
  cmake_parse_arguments(ARG "" "" "DEPS;EXTRA;TEST_PROPERTIES" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  if(tests)
    list(REMOVE_ITEM sources ${tests})
  endif()
  list(FILTER sources EXCLUDE REGEX "/main\\.cc$")
  if(NOT sources AND NOT ARG_EXTRA)
    # Headers only (so far).
    add_library(latchkey_${name} INTERFACE)
    target_include_directories(latchkey_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(latchkey_${name} INTERFACE ${ARG_DEPS})
  else()
    add_library(latchkey_${name} STATIC ${sources} ${ARG_EXTRA})
    target_include_directories(latchkey_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(latchkey_${name} PUBLIC ${ARG_DEPS})
  endif()
  if(tests AND LATCHKEY_BUILD_TESTS)
    # One test binary per module, so a module's tests build and run on their own.
    add_executable(${name}_tests ${tests} ${PROJECT_SOURCE_DIR}/tests/support/test_main.cc)
    target_include_directories(${name}_tests PRIVATE ${PROJECT_SOURCE_DIR}/tests)
    target_link_libraries(${name}_tests PRIVATE latchkey_${name} GTest::gtest GTest::gmock)
    gtest_discover_tests(${name}_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit ${ARG_TEST_PROPERTIES})
    set_property(GLOBAL APPEND PROPERTY LATCHKEY_UNIT_TEST_TARGETS ${name}_tests)
  endif()
endfunction()
