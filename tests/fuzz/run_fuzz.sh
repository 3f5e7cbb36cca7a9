#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds fuzz_snapread.c with clang's libFuzzer, AddressSanitizer and UBSan
# and runs it for a short, repeatable while: a fixed seed, from the
# committed corpus (real snapshots) and the golden snapshot. New inputs go
# to a scratch copy, never into the source tree. Any crash, leak, undefined
# behaviour or unclear error fails it and leaves the input in the scratch
# directory, which is then kept.
#
# Usage: run_fuzz.sh SOURCE_ROOT [SECONDS]   (default 25)
set -euo pipefail

root=$1
seconds=${2:-25}
clang=${CLANG:-clang}
if ! command -v "$clang" >/dev/null; then
	echo "run_fuzz: $clang not found (tools/setup.sh installs it)" >&2
	exit 77  # meson's "skipped"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/lks-fuzz-XXXXXX")
keep=0
trap '((keep)) || rm -rf "$work"' EXIT

"$clang" -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -I"$root/format" -I"$root/report" -I"$root/report/model" -I"$root/tests/unit" \
	"$root/tests/fuzz/fuzz_snapread.c" "$root/report/model/snapread.c" \
	"$root/report/model/snaprules.c" "$root/report/model/readfile.c" \
	"$root/report/errmsg.c" -o "$work/fuzz_snapread"

mkdir "$work/corpus" "$work/seeds"
cp "$root"/tests/fuzz/corpus/*.lks "$root/tests/golden/leaks.lks" "$work/seeds/"
cd "$work"
if ! ASAN_OPTIONS=detect_leaks=1 ./fuzz_snapread -seed=1 -max_total_time="$seconds" \
	-rss_limit_mb=2048 -timeout=10 -print_final_stats=1 corpus seeds; then
	keep=1
	echo "run_fuzz: failed; the input and the fuzzer are in $work" >&2
	exit 1
fi
