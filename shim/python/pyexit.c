/* SPDX-License-Identifier: MIT */
/* The 'python-exit' snapshot: taken by the first allocation recorded once
 * Py_Finalize marked the runtime as finalizing, which it does after the
 * atexit callbacks and before module teardown frees what the program held
 * (a native exit snapshot sees only what survived that). The capture sees
 * it (pyframes.c) and the recording path, above the capture, takes it. */
#include <errno.h>

#include "../shim.h"
#include "python.h"

#define LABEL "python-exit"

static int taken;  /* atomic: once per process */

/* On the finalizing thread, inside the recording path (lks_busy set):
 * the writer neither allocates from the program's heap nor waits. */
void lks_py_exit_snapshot(void)
{
	struct lks_snapshot_result result;
	int expected = 0, saved_errno = errno;

	__atomic_store_n(&lks_py_exit_due, 0, __ATOMIC_RELAXED);
	if (!__atomic_compare_exchange_n(&taken, &expected, 1, false, __ATOMIC_RELAXED,
	                                 __ATOMIC_RELAXED))
		return;
	lks_snapshot_write(LKS_REASON_PYTHON_EXIT, LABEL, -1, &result);
	errno = saved_errno;
}
