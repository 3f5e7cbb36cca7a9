/* SPDX-License-Identifier: MIT */
/* Offline symbolization of the return addresses of one process snapshot:
 * function, source line and inlined calls, through libdwfl. */
#ifndef LEAKSCOPE_SYMBOLS_H
#define LEAKSCOPE_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

#include "errmsg.h"
#include "model.h"

struct snapshot;
struct pool;
struct symbolizer;

/* `snap` must outlive the symbolizer; names go into `pool`. */
int sym_open(const struct snapshot *snap, struct pool *pool,
	     struct symbolizer **out, struct errmsg *err);
void sym_close(struct symbolizer *sym);

/* The frames a recorded return address stands for, innermost first (more
 * than one when calls were inlined there). The array stays valid until the
 * next lookup. 0 or a negative errno. */
int sym_lookup(struct symbolizer *sym, uint64_t address,
	       const struct model_frame **frames, size_t *count);

/* The variable a data address lies in (`symbol` NULL when none is known)
 * and the module holding it (NULL when none). 0 or a negative errno. */
int sym_data(struct symbolizer *sym, uint64_t address, const char **symbol,
	     uint64_t *symbol_offset, const char **module);

/* The record of the module holding `address` (overlaps resolved as for
 * lookups), or NULL. */
const struct lks_module *sym_module_of(struct symbolizer *sym, uint64_t address);

/* Why some modules could not be used, one line each (pool strings). */
const char *const *sym_warnings(const struct symbolizer *sym, size_t *count);

#endif
