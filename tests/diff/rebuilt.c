/* SPDX-License-Identifier: MIT */
/* A program rebuilt at the same path between its run and its report
 * (check_rebuilt.py): built once as is, once with -DPAD, which puts code
 * ahead of every function (other addresses, another build-id) and keeps
 * every line where it was. It keeps a block, prints "ready PID", waits for
 * its input to end (time for `leakscope snapshot PID`), and leaks one. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifdef PAD
static volatile int pad_sink; static void pad(void) { for (int i = 0; i < 64; i++) pad_sink += i * 7; }
#endif

void *kept;

__attribute__((noinline)) static void keep_widget(void)
{
	kept = malloc(200); /* rebuilt-site: keep_widget */
}

__attribute__((noinline)) static void leak_widget(void)
{
	void *block = malloc(100); /* rebuilt-site: leak_widget */

	__asm__ volatile("" : : "r"(block) : "memory");
}

int main(void)
{
	char line[64];

#ifdef PAD
	pad();
#endif
	keep_widget();
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
	leak_widget();
	return 0;
}
