#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs from Debian whatever leakscope needs to build and test and is not
# there yet. Idempotent: does nothing but say so when everything is present.
set -euo pipefail

# Build: compilers, meson, and the two unwinding/symbolizing libraries.
# Tests: python3 runs the checkers (python3-yaml reads docs/CI.md's CI
# recipes), and is the CPython 3.11 of tests/python (3.12 and 3.13 are
# tested where pyenv has them, skipped elsewhere); the 'real' suite runs
# sqlite3, perl, git, xz; the handles suite runs make (bash's and make's
# by-design handles) and a program linked to libuv (its event loop's); the
# 'fuzz' suite builds with clang's libFuzzer (libclang-rt-14-dev). The
# 'real' suite's runtime tests build with gccgo (split stacks, Go's runtime's
# own handles), gfortran and cobc (about 25 MB to fetch in all); Rust, Go's
# own toolchain, GNAT and a JDK are too large to fetch for them: those tests
# run where the compiler is installed and are skipped elsewhere.
packages=(
	meson ninja-build pkg-config gcc g++ libunwind-dev libdw-dev
	python3 python3-yaml sqlite3 perl git xz-utils jq make clang libclang-rt-14-dev
	libuv1-dev gccgo gfortran gnucobol3
)
# tools/bench/run.sh: the tools leakscope is compared with.
if [[ ${1:-} == --bench ]]; then
	packages+=(heaptrack valgrind liblsan0)
fi

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	if [[ "$status" != installed ]]; then
		missing+=("$pkg")
	fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
	echo "setup: all ${#packages[@]} packages present, nothing to install"
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "setup: missing ${missing[*]}; run this script as root to install them" >&2
	exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
echo "setup: done"
