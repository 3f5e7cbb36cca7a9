#!/bin/bash
# SPDX-License-Identifier: MIT
# The shim's cost per process in short processes and build-like process
# trees (issue 10 item 13), in what a loaded machine still measures well:
# CPU time and page faults, from `perf stat -r N`, per task of the tree
# (processes and threads: perf counts sched_process_fork). Each workload
# runs plain, with the shim (LD_PRELOAD, snapshots to a temporary
# directory, no summary), with a second shim given by --before, and under
# `leakscope run` (which also reads every snapshot and reports), in turn.
# Not a test: nothing here fails on a number.
#
# Usage: tools/bench/tree.sh [--build DIR] [--before SHIM] [--runs N]
#                            [--workloads true,make,bash,git,cc]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build
before=
runs=10
workloads=true,make,bash,git,cc

while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--before) before=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--workloads) workloads=$2; shift 2 ;;
	*) sed -n '2,13p' "$0"; exit 2 ;;
	esac
done
build=$(cd "$build" && pwd)  # absolute: make -C and git -C change directory
[ -z "$before" ] || before=$(realpath "$before")
shim=$build/shim/libleakscope.so
leakscope=$build/report/leakscope
work=$(mktemp -d /tmp/lks-tree-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/snapshots"

# 40 targets of `echo | tr | sed`: make, and per target sh, the subshell
# running echo, tr and sed (161 processes)
mkdir "$work/make"
{
	echo 'TARGETS := $(addprefix t,$(shell seq 1 40))'
	echo 'all: $(TARGETS)'
	echo 't%:'
	printf '\t@echo $@ | tr a-z A-Z | sed s/T/x/ > /dev/null\n'
} > "$work/make/Makefile"

# a small C project: 8 files and a link
mkdir "$work/cc"
for i in 1 2 3 4 5 6 7 8; do
	printf '#include <stdio.h>\nint f%d(int x) { printf("%%d", x); return x * %d; }\n' \
		"$i" "$i" > "$work/cc/f$i.c"
done
printf 'int f1(int);\nint main(void) { return f1(0); }\n' > "$work/cc/main.c"
{
	echo 'OBJS := main.o $(patsubst %.c,%.o,$(wildcard f*.c))'
	echo 'prog: $(OBJS)'
	printf '\tcc -o $@ $(OBJS)\n'
	echo '%.o: %.c'
	printf '\tcc -O2 -c -o $@ $<\n'
} > "$work/cc/Makefile"

# 100 small commands, none a builtin
bash_script='for i in $(seq 25); do /bin/true; tr a-z A-Z </dev/null; sed -n 1p </dev/null; cat </dev/null; done'

# sets cmd to the workload's command line
command_of() {
	case $1 in
	true) cmd=(/bin/true) ;;
	make) cmd=(make -s -j2 -C "$work/make") ;;
	bash) cmd=(bash -c "$bash_script") ;;
	git) cmd=(git -C "$root" status --porcelain) ;;
	cc) cmd=(make -s -j2 -B -C "$work/cc") ;;
	esac
}

# measure PRELOAD CMD...: "tasks faults cpu_ms", means over the runs
# (env, which starts CMD, is counted in every column alike)
measure() {
	local vars=()

	if [ -n "$1" ]; then
		vars=(LD_PRELOAD="$1" LEAKSCOPE_OPTIONS="output_dir=$work/snapshots:summary=0")
	fi
	shift
	perf stat -x, -r "$runs" -e sched:sched_process_fork,task-clock,page-faults \
		env "${vars[@]}" "$@" 2>&1 >/dev/null </dev/null |
	awk -F, '$3 == "sched:sched_process_fork" { tasks = $1 + 1 }
	         $3 == "page-faults" { faults = $1 }
	         $3 == "task-clock" { ms = $1 }
	         END { printf "%d %d %.1f\n", tasks, faults, ms }'
	rm -f "$work"/snapshots/*
}

per_task() {  # "tasks faults ms" -> "faults/task ms/task"
	awk '{ printf "%.0f %.2f", $2 / $1, $3 / $1 }' <<< "$1"
}

echo "| workload | tasks | plain: faults, CPU ms per task |${before:+ before: faults, ms |} shim: faults, ms | shim minus plain | leakscope run, CPU ms in all |"
echo "|---|---|---|${before:+---|}---|---|---|"
for name in ${workloads//,/ }; do
	command_of "$name"
	plain=$(measure "" "${cmd[@]}")
	old=
	[ -n "$before" ] && old=$(measure "$before" "${cmd[@]}")
	new=$(measure "$shim" "${cmd[@]}")
	run=$(measure "" "$leakscope" run --shim "$shim" -o /dev/null -- "${cmd[@]}")
	read -r tasks _ <<< "$plain"
	read -r pf pm <<< "$(per_task "$plain")"
	read -r nf nm <<< "$(per_task "$new")"
	row="| $name | $tasks | $pf, $pm |"
	if [ -n "$old" ]; then
		read -r of om <<< "$(per_task "$old")"
		row+=" $of, $om |"
	fi
	row+=" $nf, $nm | $((nf - pf)), $(awk "BEGIN { printf \"%.2f\", $nm - $pm }") |"
	row+=" $(awk '{ print $3 }' <<< "$run") |"
	echo "$row"
done
