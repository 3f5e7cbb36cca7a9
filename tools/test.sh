#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds leakscope from scratch with -Werror and runs every test suite,
# the long stress and real ones too (the 'full' test setup; a plain `meson
# test` leaves those out). Ends with 'N passed, N failed' for CI and exits
# non-zero on any failure.
#
# Usage: tools/test.sh [MESON-TEST-ARGS...]   e.g. tools/test.sh --suite memory
# Build directory: $LEAKSCOPE_BUILD_DIR, default build-ci in the repository.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LEAKSCOPE_BUILD_DIR:-$root/build-ci}

# Counts meson's per-test results; a run that never got to the tests counts
# as one failure so the closing line never claims success.
print_counts() {
	local log=$build/meson-logs/testlog-full.json
	if [[ ! -f $log ]]; then
		echo "0 passed, 1 failed"
		return
	fi
	python3 - "$log" <<'PY'
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
kind = {"OK": "passed", "EXPECTEDFAIL": "passed", "SKIP": "skipped"}
with open(sys.argv[1], encoding="utf-8") as log:
    for line in log:
        if line.strip():
            counts[kind.get(json.loads(line).get("result"), "failed")] += 1
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
print_counts
exit "$status"
