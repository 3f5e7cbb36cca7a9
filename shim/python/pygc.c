/* SPDX-License-Identifier: MIT */
/* python_gc=1: a full garbage collection before each in-run snapshot, so
 * cycles waiting for the collector are not taken for growth. The collection
 * calls into the interpreter, which is only safe where Python's C API may be
 * called: on the API caller's own Python thread, or on the main thread
 * between bytecodes (a pending call) for requests and intervals. When it
 * cannot run, the snapshot says why (docs/PYTHON.md). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../shim.h"
#include "../sys.h"
#include "python.h"
#include "pyroom.h"

/* For the main thread to run the pending call: this much of its own time,
 * what it spent waiting for a CPU not counted (main_queued_ns), and never
 * more than the hang bound. */
#define MAIN_WAIT_NS 1000000000ll
#define MAIN_HANG_NS 120000000000ll

/* The functions of CPython's C API the collection needs, from the object
 * that holds the interpreter (resolved on first use, resolve_api). */
static struct {
	int (*is_initialized)(void);
	int (*is_finalizing)(void);
	void *(*this_thread_state)(void);  /* PyGILState_GetThisThreadState */
	int (*gil_ensure)(void);           /* PyGILState_STATE is an enum */
	void (*gil_release)(int);
	void *(*save_thread)(void);        /* PyEval_SaveThread */
	void (*restore_thread)(void *);
	int (*add_pending_call)(int (*)(void *), void *);
	long (*collect)(void);             /* PyGC_Collect: Py_ssize_t */
	int (*enable)(void);               /* PyGC_Enable: the previous state */
	int (*disable)(void);
	bool ready;
} api;

/* A request or interval snapshot handed to the main thread: one at a time
 * (only the control thread hands off), published by `state`. */
enum { HANDOFF_IDLE, HANDOFF_WAITING, HANDOFF_RUNNING, HANDOFF_DONE };
static struct {
	uint32_t state;  /* atomic futex word: HANDOFF_* */
	int queued;      /* atomic: a pending call of ours is in CPython's queue */
	pid_t pid;       /* a fork child's copy of the queue is not ours to serve */
	enum lks_reason reason;
	const char *label;
	char *path;
	size_t size;
	int result;
} handoff;

static int api_state;  /* atomic: 0 unresolved, 1 being resolved, 2 resolved */

static void *resolve(const char *name)
{
	return (void *)lks_pyrt.symbols->find(name, NULL);
}

/* On the first in-run snapshot, outside the shim's recording path: the
 * runtime's finder cannot call here (the snapshot writer sits above the
 * unwinder that finds a late libpython, and files call each other in loops
 * of two at most). A thread that finds it being resolved waits: dlsym
 * waits for nothing of ours. */
static void resolve_api(void)
{
	int expected = 0;
	unsigned char quiet;

	if (__atomic_load_n(&api_state, __ATOMIC_ACQUIRE) == 2)
		return;
	if (!__atomic_compare_exchange_n(&api_state, &expected, 1, false, __ATOMIC_ACQUIRE,
	                                 __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&api_state, __ATOMIC_ACQUIRE) != 2)
			sched_yield();
		return;
	}
	quiet = lks_quiet_begin();  /* a failed dlsym allocates glibc's dlerror state */
	api.is_initialized = (int (*)(void))resolve("Py_IsInitialized");
	api.is_finalizing = (int (*)(void))resolve("Py_IsFinalizing");  /* 3.13 */
	if (!api.is_finalizing)
		api.is_finalizing = (int (*)(void))resolve("_Py_IsFinalizing");
	api.this_thread_state = (void *(*)(void))resolve("PyGILState_GetThisThreadState");
	api.gil_ensure = (int (*)(void))resolve("PyGILState_Ensure");
	api.gil_release = (void (*)(int))resolve("PyGILState_Release");
	api.save_thread = (void *(*)(void))resolve("PyEval_SaveThread");
	api.restore_thread = (void (*)(void *))resolve("PyEval_RestoreThread");
	api.add_pending_call = (int (*)(int (*)(void *), void *))resolve("Py_AddPendingCall");
	api.collect = (long (*)(void))resolve("PyGC_Collect");
	api.enable = (int (*)(void))resolve("PyGC_Enable");   /* 3.10 and later */
	api.disable = (int (*)(void))resolve("PyGC_Disable");
	api.ready = api.is_initialized && api.is_finalizing && api.this_thread_state &&
	            api.gil_ensure && api.gil_release && api.save_thread &&
	            api.restore_thread && api.add_pending_call && api.collect &&
	            api.enable && api.disable;
	lks_quiet_end(quiet);
	/* release: the table is complete for whoever sees it resolved */
	__atomic_store_n(&api_state, 2, __ATOMIC_RELEASE);
}

/* Whether the interpreter may be called at all right now. */
static enum lks_py_gc interpreter_callable(void)
{
	if (!api.ready)
		return LKS_PYGC_UNAVAILABLE;
	if (!api.is_initialized())
		return LKS_PYGC_NOT_STARTED;
	if (api.is_finalizing())
		return LKS_PYGC_FINALIZING;
	return LKS_PYGC_COLLECTED;
}

/* With the GIL held: what gc.collect() does, automatic collection switched
 * off or not (a program that disabled it still wants its cycles counted). */
static void collect_holding_gil(void)
{
	int was_enabled = api.enable();
	long found = api.collect();

	if (!was_enabled)
		api.disable();
	lks_py_gc_note(LKS_PYGC_COLLECTED, found > 0 ? (uint64_t)found : 0);
}

static int snapshot_noted(enum lks_reason reason, const char *label, char *path, size_t size)
{
	int failed = lks_snapshot_now(reason, label, path, size);

	lks_py_gc_note(LKS_PYGC_NONE, 0);
	return failed;
}

/* leakscope_snapshot(): collects on the caller's thread when it is one of
 * CPython's (ctypes released the GIL, or a C extension holds it: Ensure
 * handles both); another thread gets no thread state made for it. */
static int api_snapshot(const char *label, char *path, size_t size)
{
	enum lks_py_gc can = interpreter_callable();

	if (can == LKS_PYGC_COLLECTED && !api.this_thread_state())
		can = LKS_PYGC_NOT_PYTHON_THREAD;
	if (can == LKS_PYGC_COLLECTED) {
		int gil = api.gil_ensure();

		collect_holding_gil();
		api.gil_release(gil);
	} else {
		lks_py_gc_note(can, 0);
	}
	return snapshot_noted(LKS_REASON_API, label, path, size);
}

/* ---- requests and intervals: on the main thread, between bytecodes ------- */

/* A pending call: CPython runs it on the main thread, GIL held, where any
 * bytecode may run. The snapshot itself is written with the GIL released,
 * as the API's is under ctypes, so the program's other threads go on. */
static int run_handoff(void *unused)
{
	uint32_t expected = HANDOFF_WAITING;
	void *thread_state;

	(void)unused;
	__atomic_store_n(&handoff.queued, 0, __ATOMIC_RELAXED);
	if (handoff.pid != (pid_t)syscall(SYS_getpid) ||
	    !__atomic_compare_exchange_n(&handoff.state, &expected, HANDOFF_RUNNING, false,
	                                 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return 0;  /* served already, abandoned, or the parent's */
	if (api.is_finalizing())
		lks_py_gc_note(LKS_PYGC_FINALIZING, 0);  /* Py_Finalize runs what is queued */
	else
		collect_holding_gil();
	thread_state = api.save_thread();
	handoff.result = snapshot_noted(handoff.reason, handoff.label, handoff.path,
	                                handoff.size);
	api.restore_thread(thread_state);
	/* release: the result and the path are written before DONE */
	__atomic_store_n(&handoff.state, HANDOFF_DONE, __ATOMIC_RELEASE);
	syscall(SYS_futex, &handoff.state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	return 0;
}

static int64_t monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000ll + now.tv_nsec;
}

/* How long the process's first thread (CPython's main thread, unless an
 * embedder started the interpreter on another) has been runnable but
 * waiting for a CPU: schedstat's second field, in ns; -1 when the kernel
 * does not say. On a loaded machine a runnable thread can wait seconds. */
static int64_t main_queued_ns(void)
{
	struct lks_line path = { .len = 0 };
	char text[96];
	const char *at = text;
	int64_t queued = 0;
	ssize_t got;
	int fd;

	lks_line_str(&path, "/proc/self/task/");
	lks_line_u64(&path, (uint64_t)syscall(SYS_getpid));
	lks_line_str(&path, "/schedstat");
	path.text[path.len < sizeof(path.text) ? path.len : sizeof(path.text) - 1] = '\0';
	fd = lks_sys_openat(AT_FDCWD, path.text, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	got = lks_sys_read(fd, text, sizeof(text) - 1);
	lks_sys_close(fd);
	if (got <= 0)
		return -1;
	text[got] = '\0';
	while (*at && *at != ' ')
		at++;
	if (*at++ != ' ' || *at < '0' || *at > '9')
		return -1;
	while (*at >= '0' && *at <= '9')
		queued = queued * 10 + (*at++ - '0');
	return queued;
}

/* The wait's end, from its start: MAIN_WAIT_NS later, plus the main
 * thread's time in the run queue since then, within the hang bound. */
static int64_t main_deadline(int64_t start, int64_t queued_at_start)
{
	int64_t queued = queued_at_start >= 0 ? main_queued_ns() : -1;
	int64_t extra = queued >= queued_at_start ? queued - queued_at_start : 0;

	return start + (extra < MAIN_HANG_NS - MAIN_WAIT_NS ? MAIN_WAIT_NS + extra
	                                                    : MAIN_HANG_NS);
}

/* Waits for the main thread to run the call (when `queued`: a check
 * otherwise); false when it was not running it by the deadline, which
 * moves with the time the main thread could not run (the control thread
 * then takes the snapshot). */
static bool main_thread_served(bool queued)
{
	uint32_t state, expected = HANDOFF_WAITING;
	int64_t start = monotonic_ns();
	int64_t queued_at_start = queued ? main_queued_ns() : -1;
	int64_t deadline = queued ? start + MAIN_WAIT_NS : 0;

	while ((state = __atomic_load_n(&handoff.state, __ATOMIC_ACQUIRE)) == HANDOFF_WAITING) {
		int64_t left = deadline - monotonic_ns();
		struct timespec step;

		if (left <= 0 && queued) {
			deadline = main_deadline(start, queued_at_start);
			left = deadline - monotonic_ns();
		}
		if (left <= 0)
			break;
		step = (struct timespec){ left / 1000000000ll, left % 1000000000ll };
		syscall(SYS_futex, &handoff.state, FUTEX_WAIT_PRIVATE, state, &step, NULL, 0);
	}
	if (state == HANDOFF_WAITING &&
	    __atomic_compare_exchange_n(&handoff.state, &expected, HANDOFF_IDLE, false,
	                                __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return false;
	/* it runs or ran: a collection's finalizers take what they take, and
	 * the path it writes to is on this thread's stack */
	while ((state = __atomic_load_n(&handoff.state, __ATOMIC_ACQUIRE)) != HANDOFF_DONE)
		syscall(SYS_futex, &handoff.state, FUTEX_WAIT_PRIVATE, state, NULL, NULL, 0);
	__atomic_store_n(&handoff.state, HANDOFF_IDLE, __ATOMIC_RELAXED);
	return true;
}

/* Queues the pending call unless one of ours is still queued (it serves
 * whatever request is waiting when it runs). */
static bool queue_handoff(void)
{
	if (__atomic_exchange_n(&handoff.queued, 1, __ATOMIC_RELAXED))
		return true;
	if (api.add_pending_call(run_handoff, NULL) == 0)
		return true;
	__atomic_store_n(&handoff.queued, 0, __ATOMIC_RELAXED);
	return false;
}

static int control_snapshot(enum lks_reason reason, const char *label, char *path,
                            size_t size)
{
	enum lks_py_gc can = interpreter_callable();
	bool queued;

	if (can == LKS_PYGC_COLLECTED) {
		handoff.pid = (pid_t)syscall(SYS_getpid);
		handoff.reason = reason;
		handoff.label = label;
		handoff.path = path;
		handoff.size = size;
		/* release: the request is complete for whoever sees WAITING */
		__atomic_store_n(&handoff.state, HANDOFF_WAITING, __ATOMIC_RELEASE);
		queued = queue_handoff();
		/* unqueued, a call of ours queued before may still have taken it */
		if (main_thread_served(queued))
			return handoff.result;
		can = queued ? LKS_PYGC_MAIN_AWAY : LKS_PYGC_QUEUE_FULL;
	}
	lks_py_gc_note(can, 0);
	return snapshot_noted(reason, label, path, size);
}

int lks_py_in_run_snapshot(enum lks_reason reason, const char *label, char *path,
                           size_t size)
{
	/* acquire: the runtime's finder resolved `api` before it set a status */
	if (!lks_opt.python_gc || !__atomic_load_n(&lks_pyrt.status, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&lks_state, __ATOMIC_ACQUIRE) != LKS_ACTIVE)
		return lks_snapshot_now(reason, label, path, size);
	if (reason == LKS_REASON_API && lks_busy) {
		/* a signal handler interrupted this thread inside the shim */
		lks_py_gc_note(LKS_PYGC_SHIM_BUSY, 0);
		return snapshot_noted(reason, label, path, size);
	}
	resolve_api();
	if (reason == LKS_REASON_API)
		return api_snapshot(label, path, size);
	return control_snapshot(reason, label, path, size);
}
