/* SPDX-License-Identifier: MIT */
/* Waits for SIGHUP, SIGINT or SIGTERM, writes its name to the file
 * argv[1] and exits 3; the file argv[2], holding its pid, says it is ready
 * to receive. For check_signals.py: whether `leakscope run` passes a
 * signal on. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t received;

static void note(int signo)
{
	received = signo;
}

int main(int argc, char **argv)
{
	struct sigaction catch = { .sa_handler = note };
	sigset_t waited, open_mask;
	char pid[32], partial[4096];
	const char *name;
	int fd;

	if (argc != 3)
		return 2;
	/* blocked until sigsuspend: one sent right after "ready" is not lost */
	sigemptyset(&waited);
	sigaddset(&waited, SIGHUP);
	sigaddset(&waited, SIGINT);
	sigaddset(&waited, SIGTERM);
	sigprocmask(SIG_BLOCK, &waited, &open_mask);
	sigemptyset(&catch.sa_mask);
	sigaction(SIGHUP, &catch, NULL);
	sigaction(SIGINT, &catch, NULL);
	sigaction(SIGTERM, &catch, NULL);
	/* written whole under another name first: the reader sees all or nothing */
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	snprintf(partial, sizeof(partial), "%s.partial", argv[2]);
	fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, pid, strlen(pid)) < 0 || close(fd) < 0 ||
	    rename(partial, argv[2]) < 0)
		return 2;
	while (!received)
		sigsuspend(&open_mask);
	name = received == SIGHUP ? "HUP" : received == SIGINT ? "INT" : "TERM";
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, name, strlen(name)) < 0)
		return 2;
	close(fd);
	exit(3);
}
