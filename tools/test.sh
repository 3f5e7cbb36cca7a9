#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds leakscope from scratch with -Werror and runs every test suite,
# the long stress, real and fuzz ones too (the 'full' test setup; a plain
# `meson test` leaves those out). Then builds it again with the command and
# the unit tests under AddressSanitizer and UBSan (-Dsanitize_reporter=true;
# never the shim, nor the programs run under it) and runs every suite but
# fuzz and stress once more (stress repeats the shim's work, the same in
# both builds). Ends with each failed test's name and last lines, then
# 'N passed, N failed' for CI, and exits non-zero on any failure.
#
# Usage: tools/test.sh [MESON-TEST-ARGS...]   e.g. tools/test.sh --suite memory
# Build directories: $LEAKSCOPE_BUILD_DIR, default build-ci in the
# repository, and the same name with -sanitize after it.
# LEAKSCOPE_NO_SANITIZE=1 skips the second build.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LEAKSCOPE_BUILD_DIR:-$root/build-ci}
sanitized=$build-sanitize

# Counts meson's per-test results; a run that never got to the tests counts
# as one failure so the closing line never claims success. CI shows only the
# tail of the output: each failed test is named there, with the end of its
# output, before the closing line.
print_counts() {
	local logs=("$build/meson-logs/testlog-full.json")
	[[ ${LEAKSCOPE_NO_SANITIZE:-0} == 1 ]] || logs+=("$sanitized/meson-logs/testlog-full.json")
	python3 - "${logs[@]}" <<'PY'
import json, os, sys
TAIL_LINES = 15
LINE_CHARS = 300
counts = {"passed": 0, "failed": 0, "skipped": 0}
kind = {"OK": "passed", "EXPECTEDFAIL": "passed", "SKIP": "skipped"}
failures = []
for path in sys.argv[1:]:
    build = os.path.basename(os.path.dirname(os.path.dirname(path)))
    if not os.path.exists(path):
        counts["failed"] += 1  # that build never got to its tests
        failures.append(f"FAILED: {build}: no test ran (the build or setup failed)")
        continue
    with open(path, encoding="utf-8") as log:
        for line in log:
            if not line.strip():
                continue
            test = json.loads(line)
            verdict = kind.get(test.get("result"), "failed")
            counts[verdict] += 1
            if verdict != "failed":
                continue
            output = (test.get("stdout") or "") + (test.get("stderr") or "")
            tail = output.rstrip("\n").splitlines()[-TAIL_LINES:]
            failures.append(f"FAILED: {build}: {test.get('name')} ({test.get('result')}, "
                            f"{test.get('duration', 0):.1f} s), its last lines:\n"
                            + "\n".join("    " + text[:LINE_CHARS] for text in tail))
if failures:
    print("\n".join(["", "test: failures of this run:"] + failures))
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
PY
}

"$root/tools/setup.sh"

echo "test: fresh build in $build"
rm -rf "$build"
status=0
if meson setup "$build" "$root" -Dwerror=true && ninja -C "$build"; then
	meson test -C "$build" --setup full --print-errorlogs "$@" || status=$?
else
	status=1
	echo "test: the build failed" >&2
fi

# ASan's own exit status (86) is one no test expects; LSan looks for the
# command's own leaks at its exit.
if [[ ${LEAKSCOPE_NO_SANITIZE:-0} != 1 ]]; then
	echo "test: fresh build under ASan and UBSan in $sanitized"
	rm -rf "$sanitized"
	if meson setup "$sanitized" "$root" -Dwerror=true -Dsanitize_reporter=true &&
		ninja -C "$sanitized"; then
		ASAN_OPTIONS=detect_leaks=1:exitcode=86:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			meson test -C "$sanitized" --setup full --no-suite fuzz --no-suite stress \
			--print-errorlogs "$@" || status=$?
	else
		status=1
		echo "test: the sanitized build failed" >&2
	fi
fi
print_counts
exit "$status"
