# latchkey_module(NAME DEPS ... [TEST_PROPERTIES ...]): one static library per folder
# under src/. TEST_PROPERTIES are ctest properties for every test of the module.
# Every *.cc beside the CMakeLists.txt is a source, except *_test.cc, which goes into
# the module's own unit-test binary, {name}_tests, and *_fuzz.cc, each a libFuzzer target
# (LATCHKEY_FUZZ builds only) whose corpus under tests/fuzz/ ctest replays (label fuzz).
function(latchkey_module name)
  cmake_parse_arguments(ARG "" "" "DEPS;EXTRA;TEST_PROPERTIES" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  file(GLOB fuzzers CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_fuzz.cc)
  if(tests OR fuzzers)
    list(REMOVE_ITEM sources ${tests} ${fuzzers})
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
  if(LATCHKEY_FUZZ)
    foreach(fuzzer ${fuzzers})
      get_filename_component(stem ${fuzzer} NAME_WE)
      latchkey_fuzz_target(${stem} ${fuzzer} latchkey_${name})
    endforeach()
  endif()
endfunction()

# fuzz_{stem}: a libFuzzer binary. `ctest -L fuzz` runs every input of its corpus,
# tests/fuzz/corpus/{stem}/, once (a crash found once stays fixed), with the dictionary
# tests/fuzz/dict/{stem}.dict if there is one (so a dictionary libFuzzer cannot parse fails
# here, not only when scripts/fuzz runs); scripts/fuzz fuzzes it.
function(latchkey_fuzz_target stem source library)
  add_executable(fuzz_${stem} ${source})
  target_include_directories(fuzz_${stem} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(fuzz_${stem} PRIVATE ${library})
  target_link_options(fuzz_${stem} PRIVATE -fsanitize=fuzzer)
  set(corpus ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${stem})
  if(NOT IS_DIRECTORY ${corpus})
    message(FATAL_ERROR "${source} has no seed corpus: add ${corpus}/")
  endif()
  set(dict ${PROJECT_SOURCE_DIR}/tests/fuzz/dict/${stem}.dict)
  set(dict_flag)
  if(EXISTS ${dict})
    set(dict_flag -dict=${dict})
  endif()
  add_test(NAME fuzz.${stem} COMMAND fuzz_${stem} ${dict_flag} -runs=0 ${corpus})
  set_tests_properties(fuzz.${stem} PROPERTIES LABELS fuzz TIMEOUT 300)
  set_property(GLOBAL APPEND PROPERTY LATCHKEY_FUZZ_TARGETS fuzz_${stem})
endfunction()
