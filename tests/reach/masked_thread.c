/* SPDX-License-Identifier: MIT */
/* A worker that blocks every signal, as thread pools and xz do, holds the
 * only pointer to a block while it waits in read() at exit. The scan's stop
 * signal cannot reach it: it must be held another way (ptrace) and its
 * stack read as a thread's, so the block is reachable through it and no
 * thread is reported missed. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reach_fixture.h"

static int ready_pipe[2], never_pipe[2];

static void *hold(void *unused)
{
	char *block = malloc(700); /* expect-class: fn=hold class=reachable blocks=1 bytes=700 */
	char *volatile kept = block; /* expect-retainer: root=called-from:start_thread site=hold */
	sigset_t all;
	char byte;

	sigfillset(&all);
	if (pthread_sigmask(SIG_BLOCK, &all, NULL) != 0)
		abort();
	memset(block, 2, 700);
	if (write(ready_pipe[1], "r", 1) != 1)
		abort();
	while (read(never_pipe[0], &byte, 1) != 0)  /* until the process exits */
		block[0] = byte;
	escape(kept);
	free(block);
	return unused;
}

int main(void)
{
	pthread_t holder;
	char byte;

	if (pipe(ready_pipe) || pipe(never_pipe) ||
	    pthread_create(&holder, NULL, hold, NULL) || read(ready_pipe[0], &byte, 1) != 1)
		return 2;
	return 0;
}
