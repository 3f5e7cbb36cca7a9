// SPDX-License-Identifier: MIT
/* issue 10 item 10: the program holds every fd it may, then exits. A thread
 * waits in read() meanwhile (the exit scan must stop it, which reads
 * /proc/self/task), and two blocks are dropped in leak_with_every_fd: the
 * snapshot, its scan and its file all need fds the program left none of.
 * What it prints does not depend on how many it got. With argv[1] =
 * seccomp, it first puts itself under a seccomp filter that allows
 * everything (as a container's default profile does), under which the shim
 * clones no helper. */
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static void *volatile sink;
static int wake[2];

static void *wait_for_wake(void *unused)
{
	char byte;

	if (read(wake[0], &byte, 1) < 0)
		perror("read");
	return unused;
}

__attribute__((noinline)) static void leak_with_every_fd(void)
{
	for (int i = 0; i < 2; i++) {
		sink = malloc(200);
		memset(sink, 0, 200);
	}
	sink = NULL;
}

static void allow_all_filter(void)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog program = { .len = 1, .filter = &allow };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program))
		exit(3);
}

int main(int argc, char **argv)
{
	pthread_t thread;
	int opened = 0;

	if (argc > 1 && strcmp(argv[1], "seccomp") == 0)
		allow_all_filter();
	if (pipe(wake) || pthread_create(&thread, NULL, wait_for_wake, NULL))
		return 2;
	while (open("/dev/null", O_RDONLY) >= 0)
		opened++;
	leak_with_every_fd();
	printf("%s\n", opened > 0 && open("/dev/null", O_RDONLY) < 0 ? "every fd in use"
	                                                                 : "fds left over");
	fflush(stdout);
	exit(0);
}
