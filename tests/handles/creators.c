/* SPDX-License-Identifier: MIT */
/* One fd of each creator family left open, each from its own line; the
 * same calls closed right after are not reported. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

static void open_and_close(void)
{
	int fds[2];

	close(open("/dev/null", O_RDONLY));
	close(openat(AT_FDCWD, "/dev/null", O_RDONLY));
	close(socket(AF_INET, SOCK_STREAM, 0));
	close(eventfd(0, 0));
	close(epoll_create1(0));
	if (pipe(fds) == 0) {
		close(fds[0]);
		close(fds[1]);
	}
}

int main(void)
{
	int fds[2], pair[2], file;
	sigset_t mask;

	open_and_close();
	file = open("/dev/null", O_RDONLY); /* expect-handle: type=fd count=1 desc=/dev/null */
	openat(AT_FDCWD, "/dev/zero", O_RDONLY); /* expect-handle: type=fd count=1 desc=/dev/zero */
	creat("leak.txt", 0600); /* expect-handle: type=fd count=1 desc=leak.txt */
	dup(file); /* expect-handle: type=fd count=1 desc=/dev/null */
	fcntl(file, F_DUPFD_CLOEXEC, 100); /* expect-handle: type=fd count=1 desc=/dev/null */
	if (pipe(fds) != 0) /* expect-handle: type=pipe count=2 desc=pipe:[ */
		return 1;
	if (pipe2(fds, O_CLOEXEC) != 0) /* expect-handle: type=pipe count=2 desc=pipe:[ */
		return 1;
	socketpair(AF_UNIX, SOCK_STREAM, 0, pair); /* expect-handle: type=socket count=2 desc="socket AF_UNIX" */
	socket(AF_INET6, SOCK_DGRAM, 0); /* expect-handle: type=socket count=1 desc="socket AF_INET6" */
	eventfd(1, EFD_CLOEXEC); /* expect-handle: type=eventfd count=1 desc=anon_inode:[eventfd] */
	timerfd_create(CLOCK_MONOTONIC, 0); /* expect-handle: type=timerfd count=1 desc=timerfd */
	sigemptyset(&mask);
	signalfd(-1, &mask, 0); /* expect-handle: type=signalfd count=1 desc=signalfd */
	epoll_create(1); /* expect-handle: type=epoll count=1 desc=eventpoll */
	inotify_init1(0); /* expect-handle: type=inotify count=1 desc=inotify */
	memfd_create("scratch", 0); /* expect-handle: type=memfd count=1 desc=memfd:scratch */
	pidfd_open(getpid(), 0); /* expect-handle: type=pidfd count=1 desc=pidfd */
	unlink("leak.txt");
	return 0;
}
