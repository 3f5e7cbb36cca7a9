#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds leakscope and shows it at work: on examples/leaky.c, then on two
# programs from Debian (sqlite3 and python3).
# Build directory: $LEAKSCOPE_BUILD_DIR, default build-demo in the repository.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LEAKSCOPE_BUILD_DIR:-$root/build-demo}

"$root/tools/setup.sh"

if [[ ! -f $build/build.ninja ]]; then
	meson setup "$build" "$root" -Dtests=false
fi
ninja -C "$build"
cc -g -O0 -o "$build/leaky" "$root/examples/leaky.c"

leakscope=("$build/report/leakscope" run --)

# Runs one command under leakscope and says what it exited with.
demo() {
	echo
	echo "================================================================"
	echo "\$ leakscope run -- $*"
	echo "================================================================"
	local status=0
	"${leakscope[@]}" "$@" || status=$?
	echo "(exit status $status)"
}

demo "$build/leaky"
demo sqlite3 :memory: "create table t(x); insert into t values (1), (2); select sum(x) from t;"
demo /usr/bin/python3 -I -c "import json; print(json.dumps({'answer': 42}))"
