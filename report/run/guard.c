/* SPDX-License-Identifier: MIT */
/* The watcher of one run (guard.h): a process of its own, outside the
 * program's tree and the terminal's session, that waits for leakscope to
 * release it or to die, and in the second case ends what is left of the
 * tree. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "guard.h"

/* Killed processes' children come out as orphans with the same marker: a
 * few passes end a tree of any depth; the bound stops a fork bomb's race. */
#define SWEEP_PASSES 200
#define SWEEP_PAUSE_NS 10000000L
#define READ_SIZE 16384

/* The whole of /proc/PID/environ, NUL-terminated (malloc'd), or NULL. */
static char *read_environ(pid_t pid, size_t *length)
{
	char path[64], *text = NULL;
	size_t used = 0, size = 0;
	ssize_t got = 1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	/* room for a read and the NUL after it */
	while (got > 0 && ARRAY_RESERVE(text, size, used, READ_SIZE + 1) == 0) {
		got = read(fd, text + used, size - used - 1);
		used += got > 0 ? (size_t)got : 0;
	}
	close(fd);
	if (text)
		text[used] = '\0';
	*length = used;
	return text;
}

/* Whether the environment of process `pid` has `marker` as an entry. */
static bool has_marker(pid_t pid, const char *marker)
{
	size_t length = 0;
	char *environ_text = read_environ(pid, &length);
	bool found = false;

	for (size_t at = 0; environ_text && at < length && !found;
	     at += strlen(environ_text + at) + 1)
		found = strcmp(environ_text + at, marker) == 0;
	free(environ_text);
	return found;
}

/* SIGKILL to every process of the run still there; how many there were. */
static size_t sweep_once(const char *marker)
{
	DIR *proc = opendir("/proc");
	struct dirent *entry;
	size_t killed = 0;

	while (proc && (entry = readdir(proc))) {
		pid_t pid = (pid_t)atoi(entry->d_name);

		if (pid > 0 && pid != getpid() && has_marker(pid, marker) &&
		    kill(pid, SIGKILL) == 0)
			killed++;
	}
	if (proc)
		closedir(proc);
	return killed;
}

static void sweep(const char *marker)
{
	const struct timespec gap = { 0, SWEEP_PAUSE_NS };

	for (int pass = 0; pass < SWEEP_PASSES && sweep_once(marker) > 0; pass++)
		nanosleep(&gap, NULL);
}

/* Only the watcher's end of the pair stays open (above 2): it must not hold
 * the terminal, or a pipe someone waits on, after leakscope. */
static void keep_only(int kept)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	for (int fd = 0; fd < 3 && null >= 0; fd++)
		dup2(null, fd);
	if (null > 2)
		close(null);
	if (kept > 3)
		close_range(3, (unsigned)kept - 1, 0);
	close_range((unsigned)kept + 1, ~0U, 0);
}

/* The marker leakscope sends once the environment is made: one message,
 * read whole (a byte at a time, it cost a run a few hundred system calls
 * while the program started); NULL when leakscope ended first (nothing
 * was started). */
static char *read_marker(int fd)
{
	ssize_t size, got;
	char *marker;

	do  /* its length, without taking it */
		size = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
	while (size < 0 && errno == EINTR);
	if (size <= 0 || !(marker = malloc((size_t)size + 1)))
		return NULL;
	do
		got = recv(fd, marker, (size_t)size, 0);
	while (got < 0 && errno == EINTR);
	if (got != size || memchr(marker, '\0', (size_t)size) != marker + size - 1) {
		free(marker);
		return NULL;
	}
	return marker;
}

__attribute__((noreturn))
static void watch(int fd)
{
	char byte, *marker;
	ssize_t got;

	/* a session of its own: the terminal's Ctrl-C, Ctrl-Z and hangup are
	 * for leakscope and the program, not for this */
	setsid();
	prctl(PR_SET_NAME, "leakscope-guard");
	keep_only(fd);
	marker = read_marker(fd);
	if (!marker)
		_exit(0);
	do
		got = read(fd, &byte, 1);
	while (got < 0 && errno == EINTR);
	if (got <= 0)  /* end of file: leakscope died without a word */
		sweep(marker);
	_exit(0);      /* and leakscope, if alive, reads the end of file */
}

/* A connected pair, both ends above 2 and close-on-exec: the program must
 * not inherit them, and the watcher moves 0 to 2 to /dev/null. Messages
 * keep their bounds: the marker, then the byte. */
static int make_pair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	for (int i = 0; i < 2; i++)
		if (fds[i] < 3) {
			int moved = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);

			close(fds[i]);
			fds[i] = moved;
		}
	if (fds[0] >= 0 && fds[1] >= 0)
		return 0;
	close(fds[0]);
	close(fds[1]);
	return -EMFILE;
}

void guard_start(struct guard *guard)
{
	int pair[2];

	*guard = (struct guard){ .fd = -1 };
	if (make_pair(pair) < 0)
		return;
	guard->middle = fork();
	if (guard->middle == 0) {
		/* forked twice, so that the watcher is nobody's child here */
		if (fork() == 0)
			watch(pair[1]);
		_exit(0);
	}
	close(pair[1]);
	if (guard->middle < 0) {
		close(pair[0]);
		guard->middle = 0;
		return;
	}
	guard->fd = pair[0];
}

/* One message, whole or not at all. */
static void send_message(struct guard *guard, const char *data, size_t size)
{
	ssize_t sent;

	if (guard->fd < 0)
		return;
	do
		sent = send(guard->fd, data, size, MSG_NOSIGNAL);
	while (sent < 0 && errno == EINTR);
	if (sent != (ssize_t)size) {  /* the watcher is gone: nothing more to say */
		close(guard->fd);
		guard->fd = -1;
	}
}

static void reap_middle(struct guard *guard)
{
	while (guard->middle > 0 && waitpid(guard->middle, NULL, 0) < 0 && errno == EINTR)
		;
	guard->middle = 0;
}

void guard_arm(struct guard *guard, const char *marker)
{
	send_message(guard, marker, strlen(marker) + 1);
	guard->armed = guard->fd >= 0;
	reap_middle(guard);
}

void guard_release(struct guard *guard)
{
	if (guard->armed)
		send_message(guard, "r", 1);
	guard->armed = false;
}

void guard_end(struct guard *guard)
{
	char byte;
	ssize_t got;

	guard_release(guard);
	reap_middle(guard);
	if (guard->fd < 0)
		return;
	shutdown(guard->fd, SHUT_WR);
	do  /* until the watcher has exited: nobody may meet it afterwards */
		got = read(guard->fd, &byte, 1);
	while (got > 0 || (got < 0 && errno == EINTR));
	close(guard->fd);
	guard->fd = -1;
}
