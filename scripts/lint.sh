#!/usr/bin/env bash
# Static checks over every C++ source of the project, product code, tests, benches and fuzz
# targets alike; exits non-zero on any finding, each printed as file:line with the check's name.
#   clang-format --dry-run -Werror   layout, per .clang-format
#   clang-tidy                       per .clang-tidy (tests/.clang-tidy for tests), over the
#                                    unity build's batches
#   cppcheck                         warning, performance, portability and style, less the ids
#                                    in .cppcheck-suppressions
#   scripts/lint.sh format   only the clang-format step (seconds)
#   LINT_BUILD_DIR  folder for the compilation database and cppcheck's cache (default: build-lint)
#   LINT_JOBS       clang-tidy and cppcheck processes run at once (default: 2)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${LINT_BUILD_DIR:-build-lint}
jobs=${LINT_JOBS:-2}
failed=()

mapfile -t sources < <(git ls-files '*.cpp' '*.h')
mapfile -t units < <(git ls-files '*.cpp')

# The compilation database, configured as the fuzz build is (clang, GSVS_FUZZ=ON) so that it
# lists the fuzz targets too; nothing is built. Boost 1.74 enables co_await under clang only
# through <experimental/coroutine>, which libstdc++ lacks; clang 14 has C++20 coroutines, so the
# macro says so.
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Debug -DGSVS_FUZZ=ON \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DCMAKE_CXX_FLAGS=-DBOOST_ASIO_HAS_CO_AWAIT=1 >/dev/null

started=$SECONDS
if ! clang-format --dry-run -Werror "${sources[@]}"; then
  failed+=(clang-format)
fi
echo "lint: clang-format checked ${#sources[@]} files in $((SECONDS - started)) s"
if [ "${1:-}" = format ]; then
  if [ ${#failed[@]} -gt 0 ]; then exit 1; fi
  exit 0
fi

# clang-tidy reads the sources as the unity build compiles them, every .cpp file of a target in
# one unit, so that the headers every file includes are parsed, and walked by every enabled
# check, once a target (README.md, "What CI spends its time on"). The units' database is
# configured apart, with a copy of the two .clang-tidy files at the matching places, since
# clang-tidy takes its settings from the folder of the unit it reads: the generated unit files of
# tests/ get tests/.clang-tidy. The findings in the included .cpp files show because
# HeaderFilterRegex names them.
started=$SECONDS
unity_dir="$build_dir/unity"
CC=clang CXX=clang++ cmake -S . -B "$unity_dir" -DCMAKE_BUILD_TYPE=Debug -DGSVS_FUZZ=ON \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DCMAKE_CXX_FLAGS=-DBOOST_ASIO_HAS_CO_AWAIT=1 \
  -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=0 >/dev/null
cp .clang-tidy "$unity_dir/.clang-tidy"
cp tests/.clang-tidy "$unity_dir/tests/.clang-tidy"
mapfile -t tidy_units < <(python3 -c '
import json, sys
print("\n".join(entry["file"] for entry in json.load(open(sys.argv[1]))))' \
  "$unity_dir/compile_commands.json")
tidy_logs="$build_dir/clang-tidy"
rm -rf "$tidy_logs"
mkdir -p "$tidy_logs"
# One clang-tidy per unit, $jobs at a time; each writes its own log, and the logs of units with
# findings are printed after all have run, so that reports do not interleave.
printf '%s\n' "${tidy_units[@]}" | xargs -P "$jobs" -I{} sh -c \
  'log="$2/$(echo "$1" | tr / _).log"
   clang-tidy -p "$0" --quiet "$1" >"$log" 2>&1 || echo "$1" >>"$2/failed"' \
  "$unity_dir" {} "$tidy_logs"
if [ -s "$tidy_logs/failed" ]; then
  while read -r unit; do
    grep -v -e '^[0-9]* warnings\( and [0-9]* errors\)\? generated\.$' \
      -e '^Suppressed [0-9]* warnings' -e '^Use -header-filter=' \
      "$tidy_logs/$(echo "$unit" | tr / _).log" || true
  done <"$tidy_logs/failed"
  failed+=("clang-tidy ($(wc -l <"$tidy_logs/failed") units)")
fi
# misc-unused-alias-decls looks at a unit's main file only, which in a batch is the generated
# file; this does its job for the sources: a namespace alias that its file never uses again.
while IFS=: read -r file line alias; do
  if ! grep -qE "(^|[^A-Za-z0-9_])$alias::" "$file"; then
    echo "$file:$line: namespace alias '$alias' is never used [misc-unused-alias-decls]"
    failed+=("unused namespace alias")
  fi
done < <(git grep -nE '^\s*namespace [A-Za-z_][A-Za-z0-9_]* = ' -- '*.cpp' |
  sed -E 's/^([^:]*):([0-9]*):\s*namespace ([A-Za-z0-9_]*) = .*/\1:\2:\3/')
echo "lint: clang-tidy checked ${#units[@]} files in ${#tidy_units[@]} units in $((SECONDS - started)) s"

started=$SECONDS
mkdir -p "$build_dir/cppcheck"
if ! cppcheck --project="$build_dir/compile_commands.json" --cppcheck-build-dir="$build_dir/cppcheck" \
  --std=c++20 --library=googletest --library=scripts/cppcheck-googletest.cfg \
  --enable=warning,performance,portability,style --inline-suppr \
  --suppressions-list=.cppcheck-suppressions --error-exitcode=1 --quiet -j "$jobs" \
  --template='{file}:{line}:{column}: {severity}: {message} [{id}]'; then
  failed+=(cppcheck)
fi
echo "lint: cppcheck checked ${#units[@]} translation units in $((SECONDS - started)) s"

if [ ${#failed[@]} -gt 0 ]; then
  echo "lint: findings from ${failed[*]}" >&2
  exit 1
fi
echo "lint: clean"
