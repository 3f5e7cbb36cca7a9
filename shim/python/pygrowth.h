/* SPDX-License-Identifier: MIT */
/* Shared by pytypes.c (which keeps it with the typing's state) and
 * pyretain.c (which chooses the sites an in-run snapshot's chains lead
 * to) only: each site's bytes at the last snapshot that kept them. */
#ifndef LEAKSCOPE_SHIM_PYGROWTH_H
#define LEAKSCOPE_SHIM_PYGROWTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lks_site;

struct pygrowth_entry {
	uint64_t key;             /* trace << 16 | family << 8 | class; 0: empty */
	uint64_t bytes;
};

struct pygrowth {
	struct pygrowth_entry *entries; /* open addressing, half full at most */
	uint64_t mask;
	size_t mapped;
	bool kept;                /* a snapshot's sites are in it */
};

/* The bytes `site` had at the snapshot kept; 0 when it had none. */
uint64_t pygrowth_before(const struct pygrowth *growth, const struct lks_site *site);
/* Keeps this snapshot's sites for the next one (forgets all when there is
 * no memory for them: the next snapshot then has no growth to go by). */
void pygrowth_keep(struct pygrowth *growth, const struct lks_site *sites, size_t count);
void pygrowth_free(struct pygrowth *growth);

#endif
