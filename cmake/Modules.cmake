# latchkey_module(NAME DEPS ...): one static library per folder under src/.
# Every *.cc beside the CMakeLists.txt is a source, except *_test.cc, which goes into
# the unit-test binary (tests/CMakeLists.txt collects them through LATCHKEY_UNIT_TESTS).
function(latchkey_module name)
  cmake_parse_arguments(ARG "" "" "DEPS;EXTRA" ${ARGN})
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
  set_property(GLOBAL APPEND PROPERTY LATCHKEY_UNIT_TESTS ${tests})
  set_property(GLOBAL APPEND PROPERTY LATCHKEY_MODULES latchkey_${name})
endfunction()
