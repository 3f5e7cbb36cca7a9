/* SPDX-License-Identifier: MIT */
/* Benchmark workload: handle churn. Each thread opens and closes a file,
 * makes and closes a socketpair, and fopen/fcloses a stream, in turn.
 * Usage: handles THREADS ROUNDS-PER-THREAD */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned long rounds;

static void *churn(void *unused)
{
	(void)unused;
	for (unsigned long i = 0; i < rounds; i++) {
		int pair[2];
		FILE *stream;

		close(open("/dev/null", O_RDONLY));
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0) {
			close(pair[0]);
			close(pair[1]);
		}
		if (i % 4 == 0 && (stream = fopen("/dev/null", "r")))
			fclose(stream);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 1;
	pthread_t ids[64];

	rounds = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
	if (threads < 1 || threads > 64)
		return 2;
	for (int i = 0; i < threads; i++)
		if (pthread_create(&ids[i], NULL, churn, NULL) != 0)
			return 1;
	for (int i = 0; i < threads; i++)
		pthread_join(ids[i], NULL);
	return 0;
}
