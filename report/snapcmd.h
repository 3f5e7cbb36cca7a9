/* SPDX-License-Identifier: MIT */
/* `leakscope snapshot PID`: asking a running, preloaded process for a
 * snapshot (protocol in shim/request.h, docs/SNAPSHOTS.md). */
#ifndef LEAKSCOPE_SNAPCMD_H
#define LEAKSCOPE_SNAPCMD_H

#include <stddef.h>
#include <sys/types.h>

#include "errmsg.h"

#define SNAPCMD_DEFAULT_TIMEOUT 10 /* seconds */

struct snapcmd_options {
	pid_t pid;
	const char *label;   /* NULL: the shim's default, "request" */
	unsigned timeout_s;
};

/* A label the request can carry. 0, or -EINVAL with the reason in err. */
int snapcmd_check_label(const char *label, struct errmsg *err);
/* Sends the request and waits for the answer: the new file's path. */
int snapcmd_request(const struct snapcmd_options *opts, char *path, size_t size,
                    struct errmsg *err);

#endif
