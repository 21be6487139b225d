# svckit_module(<name> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# One folder = one module = one static library `svckit_<name>`, aliased `svckit::<name>`, installed with
# its headers under include/svckit/<name>/ (not those under detail/, which no user includes, nor test
# helpers: *_test*.hpp, *_fuzz*.hpp, testdata/). Tests (*_test.cpp) and benchmarks (*_bench.cpp) beside the
# sources are picked up automatically; a test whose name contains "concurrency" or that sets
# LABELS via svckit_test_labels() is labelled for the TSan job. With SVCKIT_BUILD_FUZZ (preset fuzz)
# each libFuzzer target <parser>_fuzz.cpp of a module is `svckit_<name>_<parser>_fuzz`.
function(svckit_module name)
  cmake_parse_arguments(M "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(svckit_${name} ${M_SOURCES})
  add_library(svckit::${name} ALIAS svckit_${name})
  set_target_properties(svckit_${name} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME svckit_${name})
  target_include_directories(svckit_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/pkg>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(svckit_${name} PUBLIC cxx_std_23)
  target_link_libraries(svckit_${name} PUBLIC ${M_PUBLIC_DEPS} PRIVATE ${M_PRIVATE_DEPS})
  if(SVCKIT_INSTRUMENT_LINK_OPTIONS)
    target_link_options(svckit_${name} INTERFACE ${SVCKIT_INSTRUMENT_LINK_OPTIONS})
  endif()
  install(TARGETS svckit_${name} EXPORT svckitTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/svckit/${name}
    FILES_MATCHING PATTERN "*.hpp" PATTERN "*_test*" EXCLUDE PATTERN "*_bench*" EXCLUDE PATTERN "*_fuzz*" EXCLUDE PATTERN "detail" EXCLUDE
    PATTERN "testdata" EXCLUDE)

  if(SVCKIT_BUILD_TESTS)
    file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cpp)
    if(tests)
      add_executable(svckit_${name}_test ${tests})
      target_link_libraries(svckit_${name}_test PRIVATE svckit_${name} svckit_testing GTest::gtest GTest::gmock GTest::gtest_main)
      gtest_discover_tests(svckit_${name}_test DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
        PROPERTIES ENVIRONMENT "SVCKIT_SOURCE_DIR=${PROJECT_SOURCE_DIR}" LABELS unit)  # one label: a list would split the pairs
    endif()
  endif()
  if(SVCKIT_BUILD_FUZZ)
    file(GLOB fuzzers CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_fuzz.cpp)
    foreach(fuzzer IN LISTS fuzzers)
      get_filename_component(stem ${fuzzer} NAME_WE)
      add_executable(svckit_${name}_${stem} ${fuzzer})
      target_link_libraries(svckit_${name}_${stem} PRIVATE svckit_${name})
      target_link_options(svckit_${name}_${stem} PRIVATE -fsanitize=fuzzer)
    endforeach()
  endif()
  if(SVCKIT_BUILD_BENCH)
    file(GLOB benches CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_bench.cpp)
    if(benches)
      add_executable(svckit_${name}_bench ${benches})
      target_link_libraries(svckit_${name}_bench PRIVATE svckit_${name} svckit_testing benchmark::benchmark)
    endif()
  endif()
endfunction()
