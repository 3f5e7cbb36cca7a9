/* SPDX-License-Identifier: MIT */
/* What the records of a located snapshot must agree on (snaprules.c), for
 * snapread.c: each a thing the shim's writer never does, so that a file
 * that breaks one is damaged or forged, and none can make the reporter's
 * memory, time or output grow faster than the file. */
#ifndef LEAKSCOPE_SNAPRULES_H
#define LEAKSCOPE_SNAPRULES_H

#include "snapread.h"

/* -EINVAL with "NAME: what" in `err`. */
#define snap_reject(err, name, fmt, ...) \
	errmsg_invalid((err), "%s: " fmt, (name), ##__VA_ARGS__)

/* Every record, and the counters against the records. 0 or -EINVAL (or
 * -ENOMEM) with the reason in `err`. */
int snap_check_records(const struct snapshot *snap, struct errmsg *err);

#endif
