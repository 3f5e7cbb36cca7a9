/* SPDX-License-Identifier: MIT */
/* The handles section of a snapshot (LKS_SEC_HANDLES). */
#ifndef LEAKSCOPE_HANDLESNAP_H
#define LEAKSCOPE_HANDLESNAP_H

#include "fdtable.h"
#include "shim.h"

struct lks_handle_sum {
	struct lks_buf records;  /* struct lks_handle */
	uint8_t *uses_trace;     /* trace id -> 1 when a record uses it */
	size_t uses_trace_bytes;
	uint32_t trace_limit;
	uint32_t trace_end;      /* one past the highest trace a record uses */
	uint64_t open;           /* records that are open handles (not notes) */
	uint64_t closed_unseen;  /* recorded fds closed by calls the shim missed */
	uint64_t replaced_unseen;/* of those, holding another file now */
	uint64_t unmapped_unseen;/* recorded mappings unmapped by calls it missed */
	uint64_t opened_unseen;  /* open fds no interposer saw created */
};

/* Open handles of this process (the fds a fork child inherited flagged
 * LKS_HDF_INHERITED and not counted open; its inherited mappings left out;
 * the fds and mappings closed by calls the shim did not see counted, not
 * listed, as are the open fds it did not see opened), then one record per
 * exec note, flagged LKS_HDF_TO_CHILD. Mappings whose start is in
 * `referenced` (ascending, may be empty) are flagged LKS_HDF_REFERENCED and
 * not counted open. 0 or -1. */
int lks_handles_collect(struct lks_handle_sum *sum, struct lks_strtab *strings,
                        uint32_t trace_limit, const struct lks_buf *referenced);
bool lks_handles_use_trace(const struct lks_handle_sum *sum, uint32_t trace);
void lks_handles_sum_free(struct lks_handle_sum *sum);

#endif
