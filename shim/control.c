/* SPDX-License-Identifier: MIT */
/* The control thread: snapshots asked for from outside (`leakscope snapshot
 * PID`, through sigchain.c's handler) and every `interval` seconds. It only
 * exists when one of the two options is set: an extra thread is something a
 * program can notice (unshare(CLONE_NEWUSER) refuses multithreaded callers). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "python/python.h"
#include "request.h"
#include "shim.h"
#include "sys.h"

#define REQUEST_SLOTS 8
#define STACK_BYTES (1024 * 1024) /* the snapshot writer keeps paths on the stack */
#define NS_PER_SEC 1000000000ull
#define REQUEST_LABEL "request"
#define INTERVAL_LABEL "interval"

enum { SLOT_FREE, SLOT_FILLING, SLOT_READY };

struct request {
	uint32_t state;  /* atomic: SLOT_* */
	int32_t pid;     /* the command's, as it says in the signal */
	uint32_t token;
};

static struct request requests[REQUEST_SLOTS];
static uint32_t doorbell;     /* atomic futex word: bumped on each request */
static uint32_t thread_named;  /* atomic futex word: 1 once it has its name */
static int channel_signal;    /* 0: requests are off */
static uint64_t interval_ns;  /* 0: no timer */
static bool running;          /* the thread was started: a fork child restarts it */

static long futex_wait(uint32_t *word, uint32_t seen, const struct timespec *timeout)
{
	return syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, seen, timeout, NULL, 0);
}

static uint64_t monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * NS_PER_SEC + (uint64_t)now.tv_nsec;
}

/* Runs in a signal handler: a slot, a counter and a futex wake, nothing
 * else. With every slot taken the request is dropped; its command times out. */
static void queue_request(int pid, uint32_t token)
{
	for (int i = 0; i < REQUEST_SLOTS; i++) {
		uint32_t expected = SLOT_FREE;

		if (!__atomic_compare_exchange_n(&requests[i].state, &expected, SLOT_FILLING,
		                                 false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			continue;
		requests[i].pid = pid;
		requests[i].token = token;
		/* release: pid and token are visible to whoever sees READY */
		__atomic_store_n(&requests[i].state, SLOT_READY, __ATOMIC_RELEASE);
		break;
	}
	__atomic_fetch_add(&doorbell, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &doorbell, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* ---- answering a request ------------------------------------------------- */

/* Connects to the command's socket; only the process that sent the signal,
 * run by our user or root, gets an answer. */
static int connect_reply(const struct request *request)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct lks_line name = { .len = 0 };
	struct timeval timeout = { LKS_REPLY_TIMEOUT_MS / 1000, LKS_REPLY_TIMEOUT_MS % 1000 * 1000 };
	struct ucred peer;
	socklen_t peer_len = sizeof(peer);
	int fd;

	lks_line_str(&name, LKS_REPLY_PREFIX);
	lks_line_u64(&name, (uint64_t)request->pid);
	lks_line_str(&name, ".");
	lks_line_u64(&name, request->token);
	if (name.len + 1 > sizeof(addr.sun_path))
		return -1;
	memcpy(addr.sun_path + 1, name.text, name.len);  /* abstract: leading NUL */
	fd = lks_sys_socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) ||
	    connect(fd, (struct sockaddr *)&addr,
	            (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + name.len)) ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) ||
	    peer.pid != request->pid || (peer.uid != getuid() && peer.uid != 0)) {
		lks_sys_close(fd);
		return -1;
	}
	return fd;
}

/* The label line; an empty one, or none before the timeout, means the default. */
static void read_label(int fd, char *label, size_t size)
{
	size_t len = 0;

	while (len + 1 < size) {
		ssize_t got = lks_sys_read(fd, label + len, 1);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || label[len] == '\n')
			break;
		len++;
	}
	label[len] = '\0';
}

static void serve(const struct request *request)
{
	char label[LKS_LABEL_MAX + 1], path[4096];
	struct lks_line error = { .len = 0 };
	unsigned char quiet;
	int fd, failed;
	size_t len;

	quiet = lks_quiet_begin();
	fd = connect_reply(request);
	if (fd < 0) {
		lks_quiet_end(quiet);
		return;
	}
	read_label(fd, label, sizeof(label));
	lks_quiet_end(quiet);  /* lks_snapshot_now refuses a busy thread, and sets it itself */
	failed = lks_py_in_run_snapshot(LKS_REASON_SIGNAL, label[0] ? label : REQUEST_LABEL,
	                                path, sizeof(path));
	quiet = lks_quiet_begin();  /* the reply's socket calls are not the program's */
	if (failed) {
		lks_line_str(&error, "error ");
		lks_line_u64(&error, (uint64_t)-failed);
		lks_line_str(&error, "\n");
		lks_write_all(fd, error.text, error.len);
	} else {
		len = strlen(path);
		path[len] = '\n';  /* fits: the writer's path leaves room for its NUL */
		if (lks_write_all(fd, "ok ", 3) == 0)
			lks_write_all(fd, path, len + 1);
	}
	lks_sys_close(fd);
	lks_quiet_end(quiet);
}

static void serve_requests(void)
{
	for (int i = 0; i < REQUEST_SLOTS; i++) {
		struct request taken;

		if (__atomic_load_n(&requests[i].state, __ATOMIC_ACQUIRE) != SLOT_READY)
			continue;
		taken = requests[i];
		__atomic_store_n(&requests[i].state, SLOT_FREE, __ATOMIC_RELEASE);
		serve(&taken);
	}
}

/* ---- the thread ------------------------------------------------------------ */

/* Sleeps until a request rings or the next interval is due (0: none). */
static void wait_for_work(uint32_t seen, uint64_t due)
{
	struct timespec timeout;
	uint64_t now;

	if (!due) {
		futex_wait(&doorbell, seen, NULL);
		return;
	}
	now = monotonic_ns();
	if (now >= due)
		return;
	timeout.tv_sec = (time_t)((due - now) / NS_PER_SEC);
	timeout.tv_nsec = (long)((due - now) % NS_PER_SEC);
	futex_wait(&doorbell, seen, &timeout);
}

static void name_thread(void)
{
	struct lks_line name = { .len = 0 };

	lks_line_str(&name, LKS_CONTROL_NAME);
	lks_line_u64(&name, (uint64_t)channel_signal);
	name.text[name.len] = '\0';
	prctl(PR_SET_NAME, name.text, 0, 0, 0);
}

static void *control_main(void *unused)
{
	/* interval ticks from the thread's start; late ones are not made up */
	uint64_t due = interval_ns ? monotonic_ns() + interval_ns : 0;

	/* lks_busy stays clear while idle: a handler of the program's that runs
	 * on this thread (a signal sent to the process may land here) records
	 * like on any other thread; serve() sets it around its own calls */
	name_thread();
	__atomic_store_n(&thread_named, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &thread_named, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	for (;;) {
		uint32_t seen = __atomic_load_n(&doorbell, __ATOMIC_ACQUIRE);

		serve_requests();
		if (due && monotonic_ns() >= due) {
			lks_py_in_run_snapshot(LKS_REASON_TIMER, INTERVAL_LABEL, NULL, 0);
			while (due <= monotonic_ns())
				due += interval_ns;
		}
		wait_for_work(seen, due);
	}
	return NULL;
}

/* Until the thread has its name, `leakscope snapshot` cannot find it: the
 * program goes on once it has (or after a second, whatever happened). */
static void wait_until_named(void)
{
	uint64_t deadline = monotonic_ns() + NS_PER_SEC;
	struct timespec step = { 0, 10000000 };

	while (!__atomic_load_n(&thread_named, __ATOMIC_ACQUIRE) && monotonic_ns() < deadline)
		futex_wait(&thread_named, 0, &step);
}

/* The thread starts with every signal blocked but the request signal and
 * the exit scan's (stopworld.c, SIGRTMAX - 3, so the scan can hold it too):
 * the program's own signals are never handled on it. */
static bool start_thread(void)
{
	pthread_attr_t attr;
	pthread_t thread;
	sigset_t mask, before;
	int failed;

	sigfillset(&mask);
	if (channel_signal)
		sigdelset(&mask, channel_signal);
	sigdelset(&mask, SIGRTMAX - 3);
	pthread_sigmask(SIG_SETMASK, &mask, &before);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK_BYTES);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	__atomic_store_n(&thread_named, 0, __ATOMIC_RELAXED);
	failed = pthread_create(&thread, &attr, control_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &before, NULL);
	if (!failed)
		wait_until_named();
	return failed == 0;
}

static void warn(const char *what)
{
	struct lks_line line = { .len = 0 };

	lks_line_str(&line, what);
	lks_say(&line);
}

/* A fork child has no thread but the forking one: it gets its own control
 * thread, so a pre-forking server's workers answer requests and take
 * interval snapshots too. Requests queued in the parent stay the parent's. */
void lks_control_after_fork(void)
{
	unsigned char quiet;

	if (!running)
		return;
	memset(requests, 0, sizeof(requests));
	quiet = lks_quiet_begin();
	if (!start_thread())
		warn("cannot start the control thread in a fork child");
	lks_quiet_end(quiet);
}

/* verbose=1: what the control thread answers. */
static void say_started(void)
{
	struct lks_line line = { .len = 0 };

	lks_line_str(&line, "control thread: ");
	if (channel_signal) {
		lks_line_str(&line, "snapshots on request, signal ");
		lks_line_u64(&line, (uint64_t)channel_signal);
		lks_line_str(&line, interval_ns ? "; " : "");
	}
	if (interval_ns) {
		lks_line_str(&line, "a snapshot every ");
		lks_line_u64(&line, interval_ns / NS_PER_SEC);
		lks_line_str(&line, " s");
	}
	lks_say(&line);
}

/* At start-up, in a quiet scope. */
void lks_control_start(void)
{
	int signo = lks_opt.snapshot_signal;

	if (__atomic_load_n(&lks_state, __ATOMIC_ACQUIRE) != LKS_ACTIVE)
		return;  /* nothing recorded: nothing to snapshot */
	if (signo && (signo < SIGRTMIN || signo > SIGRTMAX || signo == SIGRTMAX - 3)) {
		warn("snapshot_signal must be a real-time signal other than SIGRTMAX-3; requests are off");
		signo = 0;
	}
	if (signo && !lks_sigchain_start(signo, queue_request)) {
		warn("cannot install the snapshot_signal handler; requests are off");
		signo = 0;
	}
	channel_signal = signo;
	if (lks_opt.interval > 0)
		interval_ns = (uint64_t)lks_opt.interval * NS_PER_SEC;
	if (!channel_signal && !interval_ns)
		return;
	if (!start_thread()) {
		warn("cannot start the control thread: no requests, no interval snapshots");
		return;
	}
	running = true;
	if (lks_opt.verbose)
		say_started();
}
