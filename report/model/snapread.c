/* SPDX-License-Identifier: MIT */
/* The only code that touches the raw bytes of a snapshot file. Nothing in the
 * file is trusted: each length, offset, id and enum is checked before the
 * rest of the reporter may follow it (docs/FORMAT.md). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readfile.h"
#include "snapread.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "snapshot files are little-endian; this reader reads them in place"
#endif

#define SECTION_ALIGN 8

struct kind_info {
	const char *name;
	uint32_t record_size;
};

/* Indexed by kind number, from format.h's one list; numbers not listed
 * have no name and are skipped like any unknown kind. */
static const struct kind_info kinds[] = {
#define KIND_INFO(number, NAME, name, record) [number] = { name, sizeof(record) },
	LKS_SECTIONS(KIND_INFO)
#undef KIND_INFO
};
#define KIND_LIMIT (sizeof(kinds) / sizeof(kinds[0]))

/* Where each known section landed, before its contents are checked. */
struct located {
	const uint8_t *at[KIND_LIMIT];
	uint64_t count[KIND_LIMIT];
	bool seen[KIND_LIMIT];
};

static int bad(struct errmsg *err, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(struct errmsg *err, const char *name, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	errmsg_set(err, "%s: %s", name, what);
	return -EINVAL;
}

static bool known_reason(uint32_t reason)
{
	switch (reason) {
#define KNOWN_REASON(number, NAME, name) case number:
	LKS_REASONS(KNOWN_REASON)
#undef KNOWN_REASON
		return true;
	default:
		return false;
	}
}

static int check_header(const struct snapshot *snap, struct errmsg *err)
{
	const struct lks_header *h = &snap->header;

	if (h->version != LKS_VERSION)
		return bad(err, snap->name,
			   "unsupported format version %" PRIu32
			   " (this leakscope reads version %d)",
			   h->version, LKS_VERSION);
	if (h->header_size != sizeof(struct lks_header))
		return bad(err, snap->name,
			   "bad header size %" PRIu32 " (expected %zu)",
			   h->header_size, sizeof(struct lks_header));
	if (!known_reason(h->reason))
		return bad(err, snap->name, "unknown snapshot reason %" PRIu32,
			   h->reason);
	return 0;
}

static int locate_one(const struct snapshot *snap, uint32_t index,
		      const struct lks_section *sec, struct located *loc,
		      struct errmsg *err)
{
	const struct kind_info *kind = &kinds[sec->kind];
	uint64_t bytes, end;

	if (loc->seen[sec->kind])
		return bad(err, snap->name, "section %" PRIu32 ": second %s section",
			   index, kind->name);
	if (sec->record_size != kind->record_size)
		return bad(err, snap->name,
			   "section %" PRIu32 " (%s): record size %" PRIu32
			   ", expected %" PRIu32,
			   index, kind->name, sec->record_size, kind->record_size);
	if (sec->offset % SECTION_ALIGN)
		return bad(err, snap->name,
			   "section %" PRIu32 " (%s): offset %" PRIu64
			   " is not 8-byte aligned",
			   index, kind->name, sec->offset);
	if (__builtin_mul_overflow(sec->count, (uint64_t)sec->record_size, &bytes) ||
	    __builtin_add_overflow(sec->offset, bytes, &end))
		return bad(err, snap->name,
			   "section %" PRIu32 " (%s): %" PRIu64
			   " records at offset %" PRIu64 " overflow",
			   index, kind->name, sec->count, sec->offset);
	if (end > snap->size)
		return bad(err, snap->name,
			   "truncated: section %" PRIu32 " ends at byte %" PRIu64
			   " of %zu",
			   index, end, snap->size);
	loc->seen[sec->kind] = true;
	loc->at[sec->kind] = (const uint8_t *)snap->buffer + sec->offset;
	loc->count[sec->kind] = sec->count;
	return 0;
}

/* Unknown kinds are skipped unread: a later writer may add sections that an
 * older reader can ignore. */
static int locate_sections(const struct snapshot *snap, struct located *loc,
			   struct errmsg *err)
{
	uint32_t count = snap->header.section_count;
	uint64_t table_end = sizeof(struct lks_header) +
			     (uint64_t)count * sizeof(struct lks_section);
	const uint8_t *table = (const uint8_t *)snap->buffer + sizeof(struct lks_header);

	if (table_end > snap->size)
		return bad(err, snap->name,
			   "truncated: section table ends at byte %" PRIu64 " of %zu",
			   table_end, snap->size);
	for (uint32_t i = 0; i < count; i++) {
		struct lks_section sec;
		int r;

		memcpy(&sec, table + (size_t)i * sizeof(sec), sizeof(sec));
		if (sec.kind >= KIND_LIMIT || !kinds[sec.kind].name)
			continue;
		r = locate_one(snap, i, &sec, loc, err);
		if (r < 0)
			return r;
	}
	if (!loc->seen[LKS_SEC_STRINGS])
		return bad(err, snap->name, "no strings section");
	if (!loc->seen[LKS_SEC_COUNTERS] || loc->count[LKS_SEC_COUNTERS] != 1)
		return bad(err, snap->name, "missing or malformed counters section");
	return 0;
}

static void publish(struct snapshot *snap, const struct located *loc)
{
	snap->strings = (const char *)loc->at[LKS_SEC_STRINGS];
	snap->strings_size = loc->count[LKS_SEC_STRINGS];
	memcpy(&snap->counters, loc->at[LKS_SEC_COUNTERS], sizeof(snap->counters));
	snap->modules = (const void *)loc->at[LKS_SEC_MODULES];
	snap->module_count = loc->count[LKS_SEC_MODULES];
	snap->traces = (const void *)loc->at[LKS_SEC_TRACES];
	snap->trace_count = loc->count[LKS_SEC_TRACES];
	snap->frames = (const void *)loc->at[LKS_SEC_FRAMES];
	snap->frame_count = loc->count[LKS_SEC_FRAMES];
	snap->sites = (const void *)loc->at[LKS_SEC_SITES];
	snap->site_count = loc->count[LKS_SEC_SITES];
	snap->handles = (const void *)loc->at[LKS_SEC_HANDLES];
	snap->handle_count = loc->count[LKS_SEC_HANDLES];
	snap->retainers = (const void *)loc->at[LKS_SEC_RETAINERS];
	snap->retainer_count = loc->count[LKS_SEC_RETAINERS];
	snap->python = loc->count[LKS_SEC_PYTHON] ? (const void *)loc->at[LKS_SEC_PYTHON] : NULL;
	snap->pycodes = (const void *)loc->at[LKS_SEC_PYCODES];
	snap->pycode_count = loc->count[LKS_SEC_PYCODES];
	snap->pybytes = loc->at[LKS_SEC_PYBYTES];
	snap->pybytes_size = loc->count[LKS_SEC_PYBYTES];
}

static bool string_ok(const struct snapshot *snap, uint32_t offset)
{
	return offset < snap->strings_size;
}

static bool trace_ok(const struct snapshot *snap, uint32_t id)
{
	return id == 0 || snap_trace(snap, id) != NULL;
}

/* With a NUL as the last byte, every offset inside the section starts a
 * terminated string, so a string check is a single comparison. */
static int check_strings(const struct snapshot *snap, struct errmsg *err)
{
	if (snap->strings_size == 0 || snap->strings[0] != '\0')
		return bad(err, snap->name, "string section does not start with \"\"");
	if (snap->strings[snap->strings_size - 1] != '\0')
		return bad(err, snap->name, "string section is not NUL-terminated");
	if (!string_ok(snap, snap->header.exe) || !string_ok(snap, snap->header.label))
		return bad(err, snap->name, "header: string offset out of range");
	return 0;
}

static int check_modules(const struct snapshot *snap, struct errmsg *err)
{
	for (size_t i = 0; i < snap->module_count; i++) {
		const struct lks_module *m = &snap->modules[i];

		if (!string_ok(snap, m->path))
			return bad(err, snap->name,
				   "module %zu: path offset %" PRIu32 " out of range",
				   i, m->path);
		if (m->build_id_len > LKS_BUILD_ID_MAX)
			return bad(err, snap->name,
				   "module %zu: build-id length %" PRIu32, i,
				   m->build_id_len);
		if (m->start > m->end)
			return bad(err, snap->name, "module %zu: start after end", i);
	}
	return 0;
}

static int check_traces(const struct snapshot *snap, struct errmsg *err)
{
	uint32_t previous = 0;

	for (size_t i = 0; i < snap->trace_count; i++) {
		const struct lks_trace *t = &snap->traces[i];

		if (t->id <= previous)
			return bad(err, snap->name,
				   "trace %zu: id %" PRIu32 " not above %" PRIu32,
				   i, t->id, previous);
		if (t->first > snap->frame_count ||
		    t->depth > snap->frame_count - t->first)
			return bad(err, snap->name,
				   "trace %" PRIu32 ": frames %" PRIu64 "+%" PRIu32
				   " beyond the %zu recorded",
				   t->id, t->first, t->depth, snap->frame_count);
		previous = t->id;
	}
	return 0;
}

static int check_sites(const struct snapshot *snap, struct errmsg *err)
{
	for (size_t i = 0; i < snap->site_count; i++) {
		const struct lks_site *s = &snap->sites[i];

		if (!trace_ok(snap, s->trace))
			return bad(err, snap->name, "site %zu: no trace %" PRIu32,
				   i, s->trace);
		if (s->klass > LKS_CLASS_REACHABLE)
			return bad(err, snap->name, "site %zu: unknown class %u",
				   i, s->klass);
		if (s->family > LKS_FAMILY_NEW_ARRAY)
			return bad(err, snap->name, "site %zu: unknown family %u",
				   i, s->family);
		if (s->heuristic > LKS_HEUR_EMPTY_ARRAY ||
		    (s->heuristic && s->klass != LKS_CLASS_REACHABLE))
			return bad(err, snap->name, "site %zu: heuristic %u on class %u",
				   i, s->heuristic, s->klass);
	}
	return 0;
}

static int check_handles(const struct snapshot *snap, struct errmsg *err)
{
	for (size_t i = 0; i < snap->handle_count; i++) {
		const struct lks_handle *h = &snap->handles[i];

		if (!trace_ok(snap, h->trace))
			return bad(err, snap->name, "handle %zu: no trace %" PRIu32,
				   i, h->trace);
		if (h->type < LKS_HANDLE_FD || h->type > LKS_HANDLE_MMAP)
			return bad(err, snap->name, "handle %zu: unknown type %u",
				   i, h->type);
		if (!string_ok(snap, h->description))
			return bad(err, snap->name,
				   "handle %zu: description offset out of range", i);
	}
	return 0;
}

/* Each chain: one root step, then one or more blocks, contiguous. */
static int check_chain_shape(const struct snapshot *snap, size_t i, struct errmsg *err)
{
	const struct lks_retainer_step *step = &snap->retainers[i];
	bool starts = i == 0 || step->chain != snap->retainers[i - 1].chain;
	bool ends = i + 1 == snap->retainer_count ||
		    snap->retainers[i + 1].chain != step->chain;

	if (starts && (step->kind == LKS_RK_BLOCK || ends))
		return bad(err, snap->name,
			   "retainer step %zu: a chain must start with a root and reach a block", i);
	if (!starts && step->kind != LKS_RK_BLOCK)
		return bad(err, snap->name, "retainer step %zu: a root inside a chain", i);
	return 0;
}

static int check_retainers(const struct snapshot *snap, struct errmsg *err)
{
	for (size_t i = 0; i < snap->retainer_count; i++) {
		const struct lks_retainer_step *step = &snap->retainers[i];

		if (check_chain_shape(snap, i, err) < 0)
			return -EINVAL;

		if (!trace_ok(snap, step->trace))
			return bad(err, snap->name, "retainer step %zu: no trace %" PRIu32,
				   i, step->trace);
		if (step->kind < LKS_RK_GLOBAL || step->kind > LKS_RK_RUNTIME)
			return bad(err, snap->name,
				   "retainer step %zu: unknown kind %" PRIu32, i,
				   step->kind);
	}
	return 0;
}

static int check_python(const struct snapshot *snap, const struct located *loc,
			struct errmsg *err)
{
	uint32_t previous = 0;

	if (loc->count[LKS_SEC_PYTHON] > 1)
		return bad(err, snap->name, "more than one python record");
	if (snap->python && (snap->python->status < LKS_PY_ON ||
			     snap->python->status > LKS_PY_NOT_STARTED ||
			     !string_ok(snap, snap->python->reason)))
		return bad(err, snap->name, "python record: bad status or reason");
	for (size_t i = 0; i < snap->pycode_count; i++) {
		const struct lks_pycode *c = &snap->pycodes[i];

		if (c->id <= previous || c->id > LKS_PYCODE_MAX_ID)
			return bad(err, snap->name, "python code %zu: id %" PRIu32
				   " not above %" PRIu32, i, c->id, previous);
		if (!string_ok(snap, c->qualname) || !string_ok(snap, c->filename) ||
		    c->linetable > snap->pybytes_size ||
		    c->linetable_len > snap->pybytes_size - c->linetable)
			return bad(err, snap->name,
				   "python code %" PRIu32 ": name or line table out of range",
				   c->id);
		previous = c->id;
	}
	return 0;
}

/* A Python frame names a code copy the file holds (or 0: none was made). */
static int check_python_frames(const struct snapshot *snap, struct errmsg *err)
{
	for (size_t i = 0; i < snap->frame_count; i++) {
		uint64_t frame = snap->frames[i];

		if (LKS_PYFRAME_IS(frame) && LKS_PYFRAME_CODE(frame) &&
		    !snap_pycode(snap, LKS_PYFRAME_CODE(frame)))
			return bad(err, snap->name,
				   "frame %zu: python code %" PRIu32 " not in the file", i,
				   LKS_PYFRAME_CODE(frame));
	}
	return 0;
}

static int validate(struct snapshot *snap, struct errmsg *err)
{
	static const uint8_t magic[LKS_MAGIC_LEN] = LKS_MAGIC;
	struct located loc = { 0 };
	int r;

	if (snap->size == 0)
		return bad(err, snap->name, "empty file");
	if (memcmp(snap->buffer, magic, snap->size < LKS_MAGIC_LEN ?
						snap->size : LKS_MAGIC_LEN))
		return bad(err, snap->name, "not a leakscope snapshot (bad magic)");
	if (snap->size < sizeof(struct lks_header))
		return bad(err, snap->name,
			   "truncated: header needs %zu bytes, file has %zu",
			   sizeof(struct lks_header), snap->size);
	memcpy(&snap->header, snap->buffer, sizeof(snap->header));
	r = check_header(snap, err);
	if (r == 0)
		r = locate_sections(snap, &loc, err);
	if (r < 0)
		return r;
	publish(snap, &loc);
	if ((r = check_strings(snap, err)) < 0 ||
	    (r = check_modules(snap, err)) < 0 ||
	    (r = check_traces(snap, err)) < 0 ||
	    (r = check_sites(snap, err)) < 0 ||
	    (r = check_handles(snap, err)) < 0 ||
	    (r = check_python(snap, &loc, err)) < 0 ||
	    (r = check_python_frames(snap, err)) < 0)
		return r;
	return check_retainers(snap, err);
}

/* Takes ownership of `buffer` (malloc'd, so aligned for every record). */
static int adopt(void *buffer, size_t size, const char *name,
		 struct snapshot **out, struct errmsg *err)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));
	int r = -ENOMEM;

	if (!snap || !(snap->name = strdup(name))) {
		errmsg_set(err, "%s: out of memory", name);
		goto fail;
	}
	snap->buffer = buffer;
	snap->size = size;
	r = validate(snap, err);
	if (r < 0)
		goto fail;
	*out = snap;
	return 0;
fail:
	if (snap)
		snap->buffer = NULL;
	snap_free(snap);
	free(buffer);
	return r;
}

int snap_parse(const void *bytes, size_t size, const char *name,
	       struct snapshot **out, struct errmsg *err)
{
	/* malloc(0) may return NULL; one spare byte keeps "empty" distinct */
	void *copy = malloc(size + 1);

	if (!copy) {
		errmsg_set(err, "%s: out of memory", name);
		return -ENOMEM;
	}
	memcpy(copy, bytes, size);
	return adopt(copy, size, name, out, err);
}

int snap_read_file(const char *path, struct snapshot **out, struct errmsg *err)
{
	char *buffer;
	size_t size;
	int r = read_whole_file(path, SNAP_MAX_FILE_SIZE, &buffer, &size);

	if (r == -EINVAL)
		errmsg_set(err, "%s: not a regular file", path);
	else if (r == -EFBIG)
		errmsg_set(err, "%s: %zu bytes: larger than any snapshot (4 GiB)", path, size);
	else if (r == -ENOMEM)
		errmsg_set(err, "%s: out of memory", path);
	else if (r < 0)
		errmsg_set(err, "%s: %s", path, strerror(-r));
	return r < 0 ? r : adopt((uint8_t *)buffer, size, path, out, err);
}

void snap_free(struct snapshot *snap)
{
	if (!snap)
		return;
	free(snap->buffer);
	free(snap->name);
	free(snap);
}

const char *snap_string(const struct snapshot *snap, uint32_t offset)
{
	return offset < snap->strings_size ? snap->strings + offset : "";
}

/* Writers give ids 1..n in order, so the direct guess nearly always hits. */
const struct lks_trace *snap_trace(const struct snapshot *snap, uint32_t id)
{
	size_t low = 0, high = snap->trace_count;

	if (id == 0)
		return NULL;
	if (id <= snap->trace_count && snap->traces[id - 1].id == id)
		return &snap->traces[id - 1];
	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (snap->traces[mid].id == id)
			return &snap->traces[mid];
		if (snap->traces[mid].id < id)
			low = mid + 1;
		else
			high = mid;
	}
	return NULL;
}

const struct lks_pycode *snap_pycode(const struct snapshot *snap, uint32_t id)
{
	size_t low = 0, high = snap->pycode_count;

	while (id && low < high) {
		size_t mid = low + (high - low) / 2;

		if (snap->pycodes[mid].id == id)
			return &snap->pycodes[mid];
		if (snap->pycodes[mid].id < id)
			low = mid + 1;
		else
			high = mid;
	}
	return NULL;
}
