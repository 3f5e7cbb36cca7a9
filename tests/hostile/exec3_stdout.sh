# SPDX-License-Identifier: MIT
# issue 10 item 1: the `exec 3>&1` idiom (keep stdout on fd 3 for later).
exec 3>&1
f() { [ "$1" -le 0 ] && return; f $(( $1 - 1 )); }
f 300
echo data >&3
