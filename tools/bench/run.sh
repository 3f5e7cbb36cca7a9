#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole benchmark of docs/PERFORMANCE.md: installs heaptrack, Valgrind
# and LeakSanitizer when missing, then runs bench.py (every workload under
# every tool, interleaved, medians, then the report step). Takes about 15
# minutes on 2 cores; `run.sh --quick` checks in about 2 that it all works.
#
# Usage: tools/bench/run.sh [BENCH.PY OPTIONS...]   e.g. --runs 5, --quick
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$here/../setup.sh" --bench
exec python3 "$here/bench.py" "$@"
