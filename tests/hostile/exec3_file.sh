# SPDX-License-Identifier: MIT
# issue 10 item 1: the script's own fd 3, then a recursion deep enough that
# the shim's unwinder probes memory; what was echoed must reach the file.
exec 3>a.txt
f() { [ "$1" -le 0 ] && return; f $(( $1 - 1 )); }
f 300
echo data >&3
exec 3>&-
cat a.txt
