/* SPDX-License-Identifier: MIT */
/* Two threads open and close a million fds between them, racing for the
 * same numbers; each then keeps three. The table must end exact: six. */
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#define ROUNDS 500000
#define KEPT 3

static void *churn(void *unused)
{
	(void)unused;
	for (int i = 0; i < ROUNDS; i++) {
		int fd = open("/dev/null", O_RDONLY);
		if (fd < 0 || close(fd) != 0)
			return (void *)1;
	}
	for (int i = 0; i < KEPT; i++)
		if (open("/dev/zero", O_RDONLY) < 0) /* expect-handle: type=fd count=6 desc=/dev/zero */
			return (void *)1;
	return NULL;
}

int main(void)
{
	pthread_t threads[2];
	void *failed[2];

	for (int i = 0; i < 2; i++)
		if (pthread_create(&threads[i], NULL, churn, NULL) != 0)
			return 1;
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], &failed[i]);
	return failed[0] || failed[1];
}
