/* SPDX-License-Identifier: MIT */
/* Follows everything an accepted snapshot lets the reporter follow, as the
 * reporter does: shared by the reader's unit test and its fuzzer, where
 * out-of-bounds reads here are what the sanitizers look for. */
#ifndef LEAKSCOPE_TEST_SNAPWALK_H
#define LEAKSCOPE_TEST_SNAPWALK_H

#include <stdint.h>
#include <string.h>

#include "snapread.h"

static uint64_t walk_trace(const struct snapshot *snap, uint32_t id)
{
	const struct lks_trace *t = snap_trace(snap, id);
	uint64_t sum = 0;

	for (uint32_t d = 0; t && d < t->depth; d++)
		sum += snap->frames[t->first + d];
	return sum;
}

static uint64_t walk_python(const struct snapshot *snap)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < snap->pycode_count; i++) {
		const struct lks_pycode *c = &snap->pycodes[i];

		sum += strlen(snap_string(snap, c->qualname)) + strlen(snap_string(snap, c->filename));
		if (c->linetable_len)
			sum += snap->pybytes[c->linetable] + snap->pybytes[c->linetable + c->linetable_len - 1];
	}
	for (size_t i = 0; i < snap->pytype_count; i++)
		sum += strlen(snap_string(snap, snap->pytypes[i].name));
	for (size_t i = 0; i < snap->pyretainer_count; i++)
		sum += strlen(snap_string(snap, snap->pyretainers[i].type)) +
		       strlen(snap_string(snap, snap->pyretainers[i].module)) +
		       strlen(snap_string(snap, snap->pyretainers[i].key)) +
		       snap->retainers[snap->pyretainers[i].step].kind;
	for (size_t i = 0; i < snap->pyobject_count; i++)
		sum += snap_pytype(snap, snap->pyobjects[i].type)->flags +
		       walk_trace(snap, snap->pyobjects[i].trace);
	return sum;
}

static uint64_t snap_walk(const struct snapshot *snap)
{
	uint64_t sum = strlen(snap_string(snap, snap->header.exe)) +
		       strlen(snap_string(snap, snap->header.label));

	for (size_t i = 0; i < snap->module_count; i++) {
		const struct lks_module *m = &snap->modules[i];

		sum += strlen(snap_string(snap, m->path));
		if (m->build_id_len)
			sum += m->build_id[m->build_id_len - 1];
	}
	for (size_t i = 0; i < snap->site_count; i++)
		sum += walk_trace(snap, snap->sites[i].trace);
	for (size_t i = 0; i < snap->handle_count; i++)
		sum += strlen(snap_string(snap, snap->handles[i].description)) +
		       walk_trace(snap, snap->handles[i].trace);
	for (size_t i = 0; i < snap->retainer_count; i++)
		sum += walk_trace(snap, snap->retainers[i].trace);
	return sum + walk_python(snap);
}

#endif
