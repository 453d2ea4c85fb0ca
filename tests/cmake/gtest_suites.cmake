# Run by ctest before the tests (a TEST_INCLUDE_FILES script, written for each test binary by
# gsvs_add_test_binary in tests/CMakeLists.txt): asks the binary for its tests and registers one
# CTest test per GoogleTest suite, `<binary> --gtest_filter=<Suite>.*`.
#
# Why a suite and not a test per process (gtest_discover_tests): a process under ASan/UBSan costs
# about 0.15 s to start before any test runs, and a fixture built once per process (the audit
# store, a signed report) was built again for every test. One process per test ran the 562
# protocol tests in 170 s of test time, one process for all of them in 18 s. A suite is still a
# unit CTest can time out, run in parallel and name in its summary; GoogleTest's output names the
# failing test inside it.
#
# Inputs (set by the generated file that includes this one): gsvs_binary, gsvs_working_dir,
# gsvs_environment (var=value list), gsvs_run_serial (TRUE or FALSE).

if(NOT EXISTS "${gsvs_binary}")
  # Not built: one failing test says so instead of no tests at all.
  get_filename_component(missing_name "${gsvs_binary}" NAME)
  add_test("${missing_name}_NOT_BUILT" "${gsvs_binary}")
  return()
endif()

execute_process(
  COMMAND "${gsvs_binary}" --gtest_list_tests
  WORKING_DIRECTORY "${gsvs_working_dir}"
  TIMEOUT 60
  OUTPUT_VARIABLE listing
  ERROR_VARIABLE listing_errors
  RESULT_VARIABLE listing_result)
if(NOT listing_result EQUAL 0)
  message(FATAL_ERROR "${gsvs_binary} --gtest_list_tests failed (${listing_result}):\n"
                      "${listing}${listing_errors}")
endif()

# A suite line starts in the first column and ends in '.', possibly followed by "  # TypeParam
# = ..."; test lines are indented. Suite names are C++ identifiers, with '/' for instantiations.
string(REPLACE "\n" ";" lines "${listing}")
foreach(line IN LISTS lines)
  if(line MATCHES "^([A-Za-z_][A-Za-z0-9_/]*)\\.( .*)?$")
    set(suite "${CMAKE_MATCH_1}")
    add_test("${suite}" "${gsvs_binary}" "--gtest_filter=${suite}.*")
    # Same as gtest_discover_tests: a skipped test shows as a skipped CTest test, which
    # scripts/test.sh treats as a failure (no test here skips itself).
    set_tests_properties("${suite}" PROPERTIES
      WORKING_DIRECTORY "${gsvs_working_dir}"
      SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]"
      ENVIRONMENT "${gsvs_environment}"
      RUN_SERIAL ${gsvs_run_serial})
  endif()
endforeach()
