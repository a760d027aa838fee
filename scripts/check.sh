#!/usr/bin/env bash
# Static analysis of the whole tree: the layer rule (scripts/check-layers.sh), the
# checked-in .clang-format (every C file formatted as it says: `make format` applies it),
# clang-tidy (.clang-tidy) and cppcheck (scripts/cppcheck-suppressions.txt). Exits
# non-zero on any finding.
#
#   scripts/check.sh [BUILD_DIR]     default build-check; CHECK_JOBS=2 parallel clang-tidy runs
#   CHECK_FILES='src/tag/*.c'        clang-tidy only these sources (while fixing findings)
#
# Both tools read the compile commands CMake exports (the real include paths and
# defines of every library, CLI, test, fuzz harness (its replay build) and benchmark source.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build-check}
jobs=${CHECK_JOBS:-2}
tidy=$(command -v clang-tidy || command -v clang-tidy-14 || true)
[ -n "$tidy" ] || { echo "check: clang-tidy not found (scripts/bootstrap.sh installs it)" >&2; exit 2; }
command -v cppcheck >/dev/null || { echo "check: cppcheck not found (scripts/bootstrap.sh installs it)" >&2; exit 2; }

start=$(date +%s)
mkdir -p "$build"

# The layer rule and the format: cheap, first; their findings fail the check like the others.
echo "check: layers (dependencies point down only)"
scripts/check-layers.sh >"$build/layers.txt" 2>&1 && layers_rc=0 || layers_rc=$?
fmt=$(command -v clang-format || command -v clang-format-14 || true)
[ -n "$fmt" ] || { echo "check: clang-format not found (scripts/bootstrap.sh installs it)" >&2; exit 2; }
echo "check: clang-format"
git ls-files '*.c' '*.h' | xargs "$fmt" --dry-run --Werror >"$build/format.txt" 2>&1 || true
fmt_files=$( (grep -E '^[^ ]+:[0-9]+:[0-9]+: error: ' "$build/format.txt" || true) | cut -d: -f1 | sort -u)
fmt_count=$(printf '%s' "$fmt_files" | grep -c . || true)
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DPLCIO_WERROR=OFF >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 2; }
db=$build/compile_commands.json
out=$build/static-analysis
rm -rf "$out" && mkdir -p "$out/tidy" "$build/cppcheck-cache"

# clang-tidy: one process per source file, CHECK_JOBS at a time. A finding in a header
# shows up once per file that includes it: the summary counts it once.
python3 -c 'import json,sys; print("\n".join(e["file"] for e in json.load(open(sys.argv[1]))))' "$db" |
  grep -E '/(src|tools|tests|bench)/' | sort -u >"$out/all-files"
if [ -n "${CHECK_FILES:-}" ]; then
  for f in $CHECK_FILES; do echo "$PWD/$f"; done | sort -u | comm -12 - "$out/all-files" >"$out/files"
else
  cp "$out/all-files" "$out/files"
fi
nfiles=$(wc -l <"$out/files")
echo "check: clang-tidy on $nfiles files ($jobs at a time)"
xargs -a "$out/files" -P "$jobs" -I{} sh -c \
  'f="$1"; "$2" -p "$3" --quiet "$f" >"$4/tidy/$(echo "$f" | tr / _).txt" 2>&1 || true' \
  _ {} "$tidy" "$build" "$out"
cat "$out"/tidy/*.txt | grep -E '^/.*: (warning|error): ' | sed "s|^$PWD/||" | sort -u >"$out/clang-tidy.txt" || true
tidy_count=$(wc -l <"$out/clang-tidy.txt")
# A file clang-tidy could not parse is a failure too (no findings would be a lie).
tidy_broken=$(grep -l -E 'error: .*\[clang-diagnostic-error\]|Error while processing' "$out"/tidy/*.txt | wc -l || true)

echo "check: cppcheck"
cppcheck --project="$db" \
  --enable=warning,style,performance,portability --std=c11 --library=posix --library=gnu \
  --inline-suppr --suppressions-list=scripts/cppcheck-suppressions.txt \
  --cppcheck-build-dir="$build/cppcheck-cache" -j "$jobs" --quiet --error-exitcode=1 \
  --template='{file}:{line}:{column}: {severity}: {message} [{id}]' >"$out/cppcheck.log" 2>"$out/cppcheck.raw" &&
  cpp_rc=0 || cpp_rc=$?
sed "s|^$PWD/||" "$out/cppcheck.raw" | grep -E '^[^ ].*: [a-z]+: ' >"$out/cppcheck.txt" || true
cpp_count=$(wc -l <"$out/cppcheck.txt")

[ "$layers_rc" -eq 0 ] || { echo "--- layer rule"; cat "$build/layers.txt"; }
[ "$fmt_count" -eq 0 ] || { echo "--- not formatted as .clang-format says (make format fixes them):"; echo "$fmt_files"; }
[ "$tidy_count" -eq 0 ] || { echo "--- clang-tidy findings"; cat "$out/clang-tidy.txt"; }
[ "$cpp_count" -eq 0 ] || { echo "--- cppcheck findings"; cat "$out/cppcheck.txt"; }
echo "check: layers $([ "$layers_rc" -eq 0 ] && echo clean || echo FAILED), $fmt_count file(s) not formatted," \
  "clang-tidy $tidy_count finding(s) in $nfiles files, cppcheck $cpp_count finding(s)," \
  "$(($(date +%s) - start)) s (details in $out/)"
if [ "$layers_rc" -ne 0 ] || [ "$fmt_count" -ne 0 ] || [ "$tidy_count" -ne 0 ] || [ "$tidy_broken" -ne 0 ] ||
  [ "$cpp_count" -ne 0 ] || [ "$cpp_rc" -ne 0 ]; then
  [ "$tidy_broken" -eq 0 ] || echo "check: clang-tidy could not parse $tidy_broken file(s)" >&2
  [ "$cpp_rc" -eq 0 ] || [ "$cpp_count" -ne 0 ] || cat "$out/cppcheck.log" "$out/cppcheck.raw" >&2
  echo "check: FAILED" >&2
  exit 1
fi
echo "check: clean"
