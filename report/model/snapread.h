/* SPDX-License-Identifier: MIT */
/* A snapshot file read into memory and checked from end to end: once
 * snap_parse() accepted it, every offset, count, id and enum in it is safe to
 * follow without further checks. */
#ifndef LEAKSCOPE_SNAPREAD_H
#define LEAKSCOPE_SNAPREAD_H

#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "errmsg.h"

#define SNAP_MAX_FILE_SIZE (UINT64_C(4) << 30)

struct snapshot {
	char *name; /* as given to the reader, for messages */
	struct lks_header header;
	struct lks_counters counters;
	const char *strings; /* ends with a NUL: any offset below size is a string */
	size_t strings_size;
	const struct lks_module *modules;
	size_t module_count;
	const struct lks_trace *traces; /* ids strictly increasing */
	size_t trace_count;
	const uint64_t *frames;
	size_t frame_count;
	const struct lks_site *sites;
	size_t site_count;
	const struct lks_handle *handles;
	size_t handle_count;
	const struct lks_retainer_step *retainers;
	size_t retainer_count;
	const struct lks_python *python; /* NULL: no CPython runtime was found */
	const struct lks_pycode *pycodes; /* ids strictly increasing */
	size_t pycode_count;
	const uint8_t *pybytes; /* line tables; each pycode's lies inside */
	size_t pybytes_size;
	const struct lks_pytype *pytypes; /* ids strictly increasing */
	size_t pytype_count;
	const struct lks_pyobjects *pyobjects; /* each names a type above */
	size_t pyobject_count;
	const struct lks_pyretainer *pyretainers; /* by step, each naming one */
	size_t pyretainer_count;
	const struct lks_pyunchained *pyunchained; /* sites chosen without a chain */
	size_t pyunchained_count;
	void *buffer; /* the whole file; the pointers above point into it */
	size_t size;
};

/* Both return 0 or a negative errno with a message naming `name`. */
int snap_read_file(const char *path, struct snapshot **out, struct errmsg *err);
int snap_parse(const void *bytes, size_t size, const char *name,
	       struct snapshot **out, struct errmsg *err);
void snap_free(struct snapshot *snap);

/* Offsets and ids given here must come from the accepted snapshot itself. */
const char *snap_string(const struct snapshot *snap, uint32_t offset);
const struct lks_trace *snap_trace(const struct snapshot *snap, uint32_t id);
/* The code copy a Python frame names; NULL for id 0. */
const struct lks_pycode *snap_pycode(const struct snapshot *snap, uint32_t id);
/* The Python type an object record names; NULL when the file has none. */
const struct lks_pytype *snap_pytype(const struct snapshot *snap, uint32_t id);

#endif
