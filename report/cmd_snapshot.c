/* SPDX-License-Identifier: MIT */
/* `leakscope snapshot PID`: finds the process's leakscope control thread,
 * queues the request signal to it, and reads the answer from the abstract
 * unix socket it listens on (format/request.h). */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "request.h"
#include "commands.h"
#include "snapread.h"
#include "symkeep.h"

/* What is asked of which process. */
struct request {
	pid_t pid;
	const char *label;   /* NULL: the shim's default, "request" */
	unsigned timeout_s;
};

int snapshot_check_label(const char *label, struct errmsg *err)
{
	if (strlen(label) <= LKS_LABEL_MAX && !strchr(label, '\n'))
		return 0;
	errmsg_set(err, "snapshot: --label: at most %d characters, one line", LKS_LABEL_MAX);
	return -EINVAL;
}

/* ---- finding the control thread ------------------------------------------ */

static bool read_comm(pid_t pid, const char *tid, char *comm, size_t size)
{
	char path[300];
	FILE *file;
	bool ok;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, tid);
	if (!(file = fopen(path, "re")))
		return false;
	ok = fgets(comm, (int)size, file) != NULL;
	fclose(file);
	return ok;
}

/* The thread named LKS_CONTROL_NAME + signal number; -ENOENT: none. */
static int find_control(pid_t pid, pid_t *tid, int *signo, struct errmsg *err)
{
	char path[300], comm[64];
	struct dirent *entry;
	DIR *dir;
	int found = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (!(dir = opendir(path))) {
		int r = -errno;

		errmsg_set(err, "snapshot: process %d: %s", (int)pid,
		           r == -ENOENT ? "no such process" : strerror(-r));
		return r;
	}
	while (found < 0 && (entry = readdir(dir))) {
		size_t prefix = strlen(LKS_CONTROL_NAME);

		if (entry->d_name[0] == '.' || !read_comm(pid, entry->d_name, comm, sizeof(comm)) ||
		    strncmp(comm, LKS_CONTROL_NAME, prefix) != 0)
			continue;
		*tid = (pid_t)atoi(entry->d_name);
		*signo = atoi(comm + prefix);
		found = 0;
	}
	closedir(dir);
	if (found < 0 || *signo == 0) {
		errmsg_set(err, "snapshot: process %d does not take snapshot requests: it runs "
		           "without leakscope or without LEAKSCOPE_OPTIONS=snapshot_signal=N "
		           "(see docs/SNAPSHOTS.md)", (int)pid);
		return -ENOTSUP;
	}
	return 0;
}

/* A real-time signal nobody catches ends the process: send it only when
 * /proc says the process has a handler for it. */
static bool signal_caught(pid_t pid, int signo)
{
	char path[64], line[256];
	unsigned long long caught = 0;
	bool found = false;
	FILE *file;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(file = fopen(path, "re")))
		return false;
	while (!found && fgets(line, sizeof(line), file))
		found = sscanf(line, "SigCgt: %llx", &caught) == 1;
	fclose(file);
	return found && (caught >> (signo - 1) & 1);
}

/* ---- the exchange ------------------------------------------------------------ */

static int listen_reply(uint32_t token)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, len;

	len = snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1, "%s%d.%u",
	               LKS_REPLY_PREFIX, (int)getpid(), token);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr,
	         (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len)) ||
	    listen(fd, 4)) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static int send_request(pid_t pid, pid_t tid, int signo, uint32_t token)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	info.si_signo = signo;
	info.si_code = SI_QUEUE;
	info.si_pid = getpid();
	info.si_uid = getuid();
	info.si_value.sival_ptr = (void *)(uintptr_t)((uint64_t)LKS_REQUEST_MAGIC << 32 | token);
	/* to the control thread only: no thread of the program is interrupted */
	if (syscall(SYS_rt_tgsigqueueinfo, pid, tid, signo, &info) != 0)
		return -errno;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static int wait_fd(int fd, int64_t deadline)
{
	struct pollfd poller = { .fd = fd, .events = POLLIN };
	int64_t left = deadline - now_ms();
	int r;

	if (left <= 0)
		return -ETIMEDOUT;
	r = poll(&poller, 1, (int)left);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	return r == 0 ? -ETIMEDOUT : 1;
}

/* The connection from the target process itself; others are dropped. */
static int accept_target(int listener, pid_t pid, int64_t deadline)
{
	for (;;) {
		struct ucred peer;
		socklen_t len = sizeof(peer);
		int r = wait_fd(listener, deadline), fd;

		if (r <= 0) {
			if (r < 0)
				return r;
			continue;
		}
		fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) == 0 && peer.pid == pid)
			return fd;
		close(fd);
	}
}

/* Reads "ok PATH\n" or "error ERRNO\n" until the shim closes. */
static int read_answer(int fd, int64_t deadline, char *answer, size_t size)
{
	size_t len = 0;

	while (len + 1 < size) {
		int r = wait_fd(fd, deadline);
		ssize_t got;

		if (r < 0)
			return r;
		if (r == 0)
			continue;
		got = read(fd, answer + len, size - 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	answer[len] = '\0';
	return memchr(answer, '\n', len) ? 0 : -EPROTO;
}

static int exchange(const struct request *opts, int fd, int64_t deadline,
                    char *path, size_t size, struct errmsg *err)
{
	char line[LKS_LABEL_MAX + 2], answer[4200];
	int n = snprintf(line, sizeof(line), "%s\n", opts->label ? opts->label : "");
	long code;
	int r;

	if (write(fd, line, (size_t)n) != n) {
		errmsg_set(err, "snapshot: process %d: cannot send the label: %s", (int)opts->pid,
		           strerror(errno));
		return -EIO;
	}
	r = read_answer(fd, deadline, answer, sizeof(answer));
	if (r == 0 && strncmp(answer, "ok ", 3) == 0 && strlen(answer + 3) <= size) {
		*strchr(answer, '\n') = '\0';
		snprintf(path, size, "%s", answer + 3);
		return 0;
	}
	if (r == 0 && sscanf(answer, "error %ld", &code) == 1 && code > 0) {
		errmsg_set(err, "snapshot: process %d could not write it: %s", (int)opts->pid,
		           strerror((int)code));
		return -(int)code;
	}
	errmsg_set(err, "snapshot: process %d: %s", (int)opts->pid,
	           r == -ETIMEDOUT ? "no answer in time" : "malformed answer");
	return r < 0 ? r : -EPROTO;
}

static int ask(const struct request *opts, char *path, size_t size,
               struct errmsg *err)
{
	int64_t deadline = now_ms() + (int64_t)opts->timeout_s * 1000;
	int listener, fd, signo = 0, r;
	uint32_t token;
	pid_t tid = 0;

	if ((r = find_control(opts->pid, &tid, &signo, err)) < 0)
		return r;
	if (!signal_caught(opts->pid, signo)) {
		errmsg_set(err, "snapshot: process %d does not catch signal %d: not sending it",
		           (int)opts->pid, signo);
		return -EPROTO;
	}
	if (getrandom(&token, sizeof(token), 0) != sizeof(token))
		token = (uint32_t)now_ms() ^ (uint32_t)getpid();
	if ((listener = listen_reply(token)) < 0) {
		errmsg_set(err, "snapshot: cannot listen for the answer: %s", strerror(-listener));
		return listener;
	}
	if ((r = send_request(opts->pid, tid, signo, token)) < 0) {
		errmsg_set(err, "snapshot: cannot signal process %d: %s", (int)opts->pid,
		           strerror(-r));
	} else if ((fd = accept_target(listener, opts->pid, deadline)) < 0) {
		r = fd;
		errmsg_set(err, "snapshot: no answer from process %d within %u s", (int)opts->pid,
		           opts->timeout_s);
	} else {
		r = exchange(opts, fd, deadline, path, size, err);
		close(fd);
	}
	close(listener);
	return r;
}

/* The symbols of the snapshot's addresses, kept beside it while the
 * program's objects are still the ones that ran. The snapshot is there
 * either way: a failure here is a warning. */
static void keep_symbols(const char *path)
{
	struct snapshot *snap;
	struct errmsg err = { "" };

	if (snap_read_file(path, &snap, &err) == 0) {
		if (symkeep_write(snap, &err) == 0)
			err.text[0] = '\0';
		snap_free(snap);
	}
	if (err.text[0])
		fprintf(stderr, "leakscope: warning: symbols not kept: %s\n", err.text);
}

int command_snapshot(char **argv, int first, int argc, struct cli_args *args)
{
	struct request asked = { .label = args->snapshot.label,
				 .timeout_s = args->snapshot.timeout_s };
	struct errmsg err = { "" };
	uint64_t pid;
	char path[4096];

	if (first + 1 != argc ||
	    parse_count("process id", argv[first], 1, INT32_MAX, &pid, &err) < 0) {
		usage_error("snapshot: wants one process id");
		return EXIT_USAGE;
	}
	asked.pid = (pid_t)pid;
	if (ask(&asked, path, sizeof(path), &err) < 0) {
		fprintf(stderr, "leakscope: %s\n", err.text);
		return EXIT_FAILED;
	}
	printf("%s\n", path);
	keep_symbols(path);
	return 0;
}
