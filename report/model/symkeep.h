/* SPDX-License-Identifier: MIT */
/* Symbols kept beside a snapshot (SNAPSHOT.sym), so that a report or a
 * diff made after the program was rebuilt still names every frame: what
 * each return address and data address of the snapshot stood for when
 * `leakscope run` or `leakscope snapshot` wrote it. A JSON file of its own
 * (docs/FORMAT.md, "Kept symbols"): the snapshot stays as the shim wrote
 * it. */
#ifndef LEAKSCOPE_SYMKEEP_H
#define LEAKSCOPE_SYMKEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errmsg.h"
#include "model.h"

#define SYMKEEP_SUFFIX ".sym"
#define SYMKEEP_VERSION 1

struct snapshot;
struct pool;
struct symkeep;
struct symkeep_module;

/* The kept symbols of `snap` (read from snap->name + ".sym"), all of it in
 * `pool` and freed with it. 0 with *out NULL when there is no such file; 0
 * with *out set; or a negative errno with why in `err` when the file is
 * there but cannot be used (unreadable, malformed, another snapshot's):
 * not fatal, the caller warns. */
int symkeep_read(const struct snapshot *snap, struct pool *pool, struct symkeep **out,
		 struct errmsg *err);

/* The kept symbols of the module loaded from `path` with `record`'s
 * build-id, or NULL. */
const struct symkeep_module *symkeep_module(const struct symkeep *kept, const char *path,
					    const struct lks_module *record);
/* The frames a return address stood for, innermost first (address, offset
 * and module left for the caller to fill); false when not kept. */
bool symkeep_frames(const struct symkeep_module *module, uint64_t address,
		    const struct model_frame **frames, size_t *count);
/* The variable a data address lay in; false when not kept. */
bool symkeep_data(const struct symkeep_module *module, uint64_t address,
		  const char **symbol, uint64_t *offset);

/* Writes snap->name + ".sym" for `snap`: the symbols of every address its
 * stacks and retainers use, atomically, mode 0600. 0 or a negative errno
 * with why in `err`. */
int symkeep_write(const struct snapshot *snap, struct errmsg *err);

#endif
