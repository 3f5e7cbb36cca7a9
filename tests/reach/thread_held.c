/* SPDX-License-Identifier: MIT */
/* A block whose only pointer is in another thread's registers or stack
 * while that thread blocks in read() at exit: reachable (the scan stops the
 * thread and reads its context). A block dropped by a thread that finished
 * is definitely lost, even though glibc keeps that thread's old stack. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reach_fixture.h"

static int ready_pipe[2], never_pipe[2];

static void *hold(void *unused)
{
	char *block = malloc(800); /* expect-class: fn=hold class=reachable blocks=1 bytes=800 */
	/* a stack slot of this frame at any -O: the chain names its caller */
	char *volatile kept = block; /* expect-retainer: root=called-from:start_thread site=hold */
	char byte;

	memset(block, 1, 800);
	if (write(ready_pipe[1], "r", 1) != 1)
		abort();
	/* blocks until the process exits: nothing is ever written */
	while (read(never_pipe[0], &byte, 1) != 0)
		block[0] = byte;
	escape(kept);
	free(block);
	return unused;
}

static void *drop(void *unused)
{
	void *block = malloc(900); /* expect-class: fn=drop class=definite blocks=1 bytes=900 */

	escape(block);
	return unused;
}

int main(void)
{
	pthread_t holder, dropper;
	char byte;

	if (pipe(ready_pipe) || pipe(never_pipe) ||
	    pthread_create(&dropper, NULL, drop, NULL) || pthread_join(dropper, NULL) ||
	    pthread_create(&holder, NULL, hold, NULL) || read(ready_pipe[0], &byte, 1) != 1)
		return 2;
	return 0;
}
