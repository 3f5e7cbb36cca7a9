/* SPDX-License-Identifier: MIT */
/* The Python sections of a snapshot: what the shim knew of the interpreter,
 * every code object copied so far with its line table, and the typed
 * objects. Called after the traces are gathered, so every copy id a trace
 * holds is already here. */
#include "../shim.h"
#include "python.h"
#include "pyroom.h"
#include "pytypes.h"

/* Set by pygc.c on the thread that is about to write the snapshot. */
static __thread struct {
	uint32_t status;     /* enum lks_py_gc */
	uint64_t collected;
} gc_note __attribute__((tls_model("initial-exec")));

void lks_py_gc_note(uint32_t status, uint64_t collected)
{
	gc_note.status = status;
	gc_note.collected = collected;
}

static int write_codes(struct lks_buf *codes, struct lks_buf *bytes,
                       struct lks_strtab *strings)
{
	uint32_t count = lks_pycode_count();

	for (uint32_t id = 1; id < count; id++) {
		struct lks_pycode_copy copy;
		struct lks_pycode record = { .id = id };

		if (!lks_pycode_get(id, &copy))
			continue;  /* being copied, or failed: no trace holds it */
		record.qualname = lks_strtab_add(strings, copy.qualname);
		record.filename = lks_strtab_add(strings, copy.filename);
		record.firstlineno = copy.firstlineno;
		record.linetable = bytes->len;
		record.linetable_len = copy.linetable_len;
		record.code_bytes = copy.code_bytes;
		lks_buf_append(bytes, copy.linetable, copy.linetable_len);
		lks_buf_append(codes, &record, sizeof(record));
	}
	return codes->failed || bytes->failed ? -1 : 0;
}

int lks_py_snapshot(const struct lks_py_parts *parts, struct lks_pytypes *types,
                    struct lks_strtab *strings, uint32_t *header_flags)
{
	struct lks_python record = {
		.codes = lks_pycode_count() ? lks_pycode_count() - 1 : 0,
		.missed_codes = lks_pycode_missed(), .bad_frames = __atomic_load_n(&lks_pyrt.bad_frames, __ATOMIC_RELAXED),
		.unpaired = __atomic_load_n(&lks_pyrt.unpaired, __ATOMIC_RELAXED),
	};

	/* acquire: what the runtime's finder wrote (a refusal's reason, and for
	 * a libpython loaded later everything) is complete once its status is */
	record.status = __atomic_load_n(&lks_pyrt.status, __ATOMIC_ACQUIRE);
	if (!record.status)
		return 0;  /* no runtime found (yet) */
	record.version = lks_pyrt.version;
	record.flags = lks_pyrt.flags;
	*header_flags |= LKS_HF_PYTHON;
	record.gc = gc_note.status;
	record.gc_collected = gc_note.collected;
	record.reason = lks_strtab_add(strings, lks_pyrt.reason);
	if (types && lks_pytypes_write(types, parts->types, parts->objects, strings, &record,
	                               parts->retainers != NULL) < 0)
		return -1;
	if (types && parts->retainers &&
	    lks_py_retainers(types, parts, strings) < 0)
		return -1;
	lks_buf_append(parts->info, &record, sizeof(record));
	if (write_codes(parts->codes, parts->bytes, strings) < 0 || parts->info->failed)
		return -1;
	return 0;
}
