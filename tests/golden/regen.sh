#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Remakes the golden suite's files: runs the committed program `leaks` under
# the shim of BUILD_DIR for the snapshot leaks.lks, then writes the reports
# the test expects (leaks.txt, leaks.json) with that build's leakscope. Run
# it after a change of the snapshot format or of the reports, and read the
# diff: it is what users will see change.
#
# Usage: tests/golden/regen.sh [--rebuild] [BUILD_DIR]   (default: build)
#   --rebuild  first rebuild `leaks` from leaks.cpp (a new build-id and new
#              addresses: only when the program itself must change)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
rebuild=0
if [[ ${1:-} == --rebuild ]]; then
	rebuild=1
	shift
fi
build=$(cd "${1:-$root/build}" && pwd)
leakscope=$build/report/leakscope
shim=$build/shim/libleakscope.so

cd "$here"
if ((rebuild)); then
	# C++ through the C driver: no libstdc++, so every frame and module the
	# report names is this program's. Source paths read tests/golden/...
	gcc -x c++ -std=gnu++17 -O2 -g -fno-exceptions -fno-rtti -nostartfiles \
		-ffile-prefix-map="$here"=tests/golden -Wl,--build-id=sha1 \
		-Wall -Wextra -Werror -o leaks leaks.cpp
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
env -i LD_PRELOAD="$shim" LEAKSCOPE_OPTIONS="output_dir=$out:summary=0" ./leaks
snapshot=("$out"/leaks.*.exit.lks)

# The snapshot names the program by its absolute path here; the test finds
# it relative to tests/golden, wherever the tree is. The shim's path is
# shortened too: it is no one else's.
PYTHONPATH=$root/tests/lib python3 - "${snapshot[0]}" "$here/leaks=leaks" \
	"$shim=libleakscope.so" <<'PY'
import sys
import lkstest

path, renames = sys.argv[1], [arg.encode().split(b"=", 1) for arg in sys.argv[2:]]
with open(path, "rb") as snapshot:
    data = bytearray(snapshot.read())
(_, _, offset, size), = [s for s in lkstest.sections(data) if s[0] == lkstest.SECTION_STRINGS]
strings = data[offset:offset + size]
# strings are NUL-terminated and referred to by offset: rewritten in place
for old, new in renames:
    if len(new) > len(old):
        sys.exit(f"{new.decode()} is longer than {old.decode()}")
    renamed = strings.replace(b"\0" + old + b"\0", b"\0" + new.ljust(len(old) + 1, b"\0"))
    if renamed == strings:
        sys.exit(f"{path}: no string {old.decode()}")
    strings = renamed
data[offset:offset + size] = strings
with open("leaks.lks", "wb") as snapshot:
    snapshot.write(lkstest.seal(data))
PY

export DEBUGINFOD_URLS=
"$leakscope" report leaks.lks >leaks.txt
"$leakscope" report --format json leaks.lks >leaks.json
for kind in '(definite)' '(indirect)' '(possible)' 'still reachable  64 bytes' \
	'open handle' '[inlined]' 'golden::Registry::add(long)'; do
	grep -qF "$kind" leaks.txt || { echo "regen: leaks.txt lacks '$kind'" >&2; exit 1; }
done
echo "regen: leaks.lks, leaks.txt and leaks.json remade; review them with git diff"
