/* SPDX-License-Identifier: MIT */
/* What the records of a located snapshot must agree on (snaprules.c), for
 * snapread.c: each a thing the shim's writer never does, so that a file
 * that breaks one is damaged or forged, and none can make the reporter's
 * memory, time or output grow faster than the file. */
#ifndef LEAKSCOPE_SNAPRULES_H
#define LEAKSCOPE_SNAPRULES_H

#include "snapread.h"

/* -EINVAL with "NAME: what" in `err`. */
int snap_reject(struct errmsg *err, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Every record, and the counters against the records. 0 or -EINVAL (or
 * -ENOMEM) with the reason in `err`. */
int snap_check_records(const struct snapshot *snap, struct errmsg *err);

#endif
