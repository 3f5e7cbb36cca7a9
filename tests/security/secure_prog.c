/* SPDX-License-Identifier: MIT */
/* Allocates and exits, linked against the shim (an absolute run path): the
 * shim is loaded at start, as a set-user-ID program would get it from
 * /etc/ld.so.preload. Made set-user-ID by the test, it runs in secure mode
 * (AT_SECURE), where the shim must take nothing from the environment and
 * write nothing. (dlopen'ed instead, the shim no longer fits in the static
 * TLS block left after start.) Usage: secure_prog */
#include <stdlib.h>

int main(void)
{
	free(malloc(10));
	return 0;
}
