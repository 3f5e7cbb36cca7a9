// SPDX-License-Identifier: MIT
/* issue 10 item 9: address-space limits.
 *   fill N   malloc 1 MiB blocks until N MiB or failure; prints how many
 *   self     sets RLIMIT_AS to 100 MB itself, then mallocs 32 MB */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int fill(long want)
{
	long got = 0;

	while (got < want && malloc(1 << 20))
		got++;
	printf("got %ld of %ld MiB\n", got, want);
	return 0;
}

static int limit_self(void)
{
	struct rlimit limit = { 100000000, 100000000 };
	char *block;

	if (setrlimit(RLIMIT_AS, &limit)) {
		perror("setrlimit");
		return 2;
	}
	block = malloc(32000000);
	if (!block) {
		puts("32 MB malloc failed under a 100 MB limit");
		return 1;
	}
	memset(block, 1, 32000000);
	puts("32 MB under a 100 MB limit");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "fill") == 0)
		return fill(strtol(argv[2], NULL, 10));
	if (argc == 2 && strcmp(argv[1], "self") == 0)
		return limit_self();
	fprintf(stderr, "usage: rlimit_as fill MIB | self\n");
	return 2;
}
