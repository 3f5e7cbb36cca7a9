/* SPDX-License-Identifier: MIT */
/* The program's own mappings, keyed by address: recorded by mappings.c,
 * read by handlesnap.c and the exit scan (reach/mapref.c). */
#ifndef LEAKSCOPE_MAPTABLE_H
#define LEAKSCOPE_MAPTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "fdtable.h"

struct lks_map_entry {
	uint64_t addr, size;
	uint32_t trace;
	uint8_t flags;  /* LKS_FD_INHERITED */
};

void lks_mapping_record(uint64_t addr, uint64_t size, uint32_t trace);
bool lks_mapping_forget(uint64_t addr, struct lks_map_entry *old);
/* [start, end) was unmapped: what recorded mappings keep outside it stays
 * recorded, with their sites. */
void lks_mapping_cut(uint64_t start, uint64_t end);
/* Whether one recorded mapping holds all of [start, end): one probe, or a
 * walk of the recorded mappings (not of the table). */
bool lks_mapping_contains(uint64_t start, uint64_t end);
void lks_mapping_foreach(void (*visit)(const struct lks_map_entry *, void *), void *ctx);
void lks_mapping_mark_inherited(void);  /* fork child, before it runs on */

#endif
