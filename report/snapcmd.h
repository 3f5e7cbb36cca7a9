/* SPDX-License-Identifier: MIT */
/* `leakscope snapshot PID`: asking a running, preloaded process for a
 * snapshot (protocol in shim/request.h, docs/SNAPSHOTS.md). */
#ifndef LEAKSCOPE_SNAPCMD_H
#define LEAKSCOPE_SNAPCMD_H

#include <stddef.h>
#include <sys/types.h>

#include "errmsg.h"

struct snapcmd_options {
	pid_t pid;
	const char *label;   /* NULL: the shim's default, "request" */
	int timeout_ms;
};

/* argv[0] is "snapshot"; -EINVAL with the reason in err on bad usage. */
int snapcmd_parse(int argc, char **argv, struct snapcmd_options *opts, struct errmsg *err);
/* Sends the request and waits for the answer: the new file's path. */
int snapcmd_request(const struct snapcmd_options *opts, char *path, size_t size,
                    struct errmsg *err);

#endif
