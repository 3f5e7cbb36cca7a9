/* SPDX-License-Identifier: MIT */
/* The public API (include/leakscope.h): leakscope_snapshot(), the one
 * function the shim exports besides the interposed libc names, and the way
 * in for every snapshot taken during the run (API, request, timer). */
#include <errno.h>
#include <string.h>

#include "python/python.h"
#include "shim.h"
/* The definition is strong, and called by its name, not through the macro. */
#define LEAKSCOPE_WEAK
#include "leakscope.h"
#undef leakscope_snapshot

/* The default label when the program gives none. */
#define API_LABEL "api"

int lks_snapshot_now(enum lks_reason reason, const char *label, char *path, size_t size)
{
	struct lks_snapshot_result result;
	unsigned char quiet;
	int saved_errno = errno, failed;

	if (__atomic_load_n(&lks_state, __ATOMIC_ACQUIRE) != LKS_ACTIVE)
		return -ENOSYS;
	/* busy: a signal handler interrupted this thread inside the shim, whose
	 * state (a half-made trace, the unwinder's caches) must not be entered again */
	if (lks_busy && !lks_busy_abandoned(LKS_FRAME()))
		return -EAGAIN;
	quiet = lks_quiet_begin();  /* what the writer's libc calls allocate is not the program's */
	errno = 0;
	failed = lks_snapshot_write(reason, label, -1, &result);
	failed = failed ? (errno ? -errno : -EIO) : 0;
	lks_quiet_end(quiet);
	if (!failed && path) {
		size_t len = strnlen(result.path, size - 1);

		memcpy(path, result.path, len);
		path[len] = '\0';
	}
	errno = saved_errno;
	return failed;
}

LKS_EXPORT int leakscope_snapshot(const char *label)
{
	int failed = lks_py_in_run_snapshot(LKS_REASON_API,
	                                    label && label[0] ? label : API_LABEL, NULL, 0);

	if (failed) {
		errno = -failed;
		return -1;
	}
	return 0;
}
