/* SPDX-License-Identifier: MIT */
/* The only code that touches the raw bytes of a snapshot file. Nothing in the
 * file is trusted: its size and checksum, then where each section lies, then
 * each record (snaprules.c) are checked before the rest of the reporter may
 * follow an offset, id or enum of it (docs/FORMAT.md). */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "readfile.h"
#include "snaprules.h"

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

/* Version 1 files are not read: nothing was released that wrote them. */
static int check_version(const struct snapshot *snap, uint32_t version, struct errmsg *err)
{
	if (version == LKS_VERSION)
		return 0;
	return snap_reject(err, snap->name,
			   "unsupported format version %" PRIu32 " (this leakscope reads "
			   "version %d; take the snapshot again with its shim)",
			   version, LKS_VERSION);
}

/* Whole, as the shim wrote it: its size, then its checksum, before any of
 * its contents is believed. */
static int check_whole(const struct snapshot *snap, struct errmsg *err)
{
	const struct lks_header *h = &snap->header;
	uint64_t sum;

	if (h->file_size > snap->size)
		return snap_reject(err, snap->name,
				   "truncated: %zu bytes of the %" PRIu64 " the header gives",
				   snap->size, h->file_size);
	if (h->file_size < snap->size || h->file_size % SECTION_ALIGN)
		return snap_reject(err, snap->name,
				   "damaged: %zu bytes, where the header gives %" PRIu64,
				   snap->size, h->file_size);
	sum = lks_checksum_file(snap->buffer, snap->size,
				offsetof(struct lks_header, checksum));
	if (sum != h->checksum)
		return snap_reject(err, snap->name,
				   "damaged: checksum %016" PRIx64 ", the header says %016" PRIx64
				   " (changed after the shim wrote it)", sum, h->checksum);
	return 0;
}

static int check_header(const struct snapshot *snap, struct errmsg *err)
{
	const struct lks_header *h = &snap->header;
	int r;

	if (h->header_size != sizeof(struct lks_header))
		return snap_reject(err, snap->name,
			   "bad header size %" PRIu32 " (expected %zu)",
			   h->header_size, sizeof(struct lks_header));
	r = check_whole(snap, err);
	if (r < 0)
		return r;
	if (!known_reason(h->reason))
		return snap_reject(err, snap->name, "unknown snapshot reason %" PRIu32,
				   h->reason);
	return 0;
}

/* Sections lie back to back after the table, in table order, each padded
 * with zeros to 8 bytes, the last one ending the file: nothing hides
 * between or after them, and no two overlap. Known kinds are checked
 * further; unknown ones are skipped unread. */
static int locate_one(const struct snapshot *snap, uint32_t index,
		      const struct lks_section *sec, uint64_t *at, struct located *loc,
		      struct errmsg *err)
{
	bool known = sec->kind < KIND_LIMIT && kinds[sec->kind].name;
	const char *name = known ? kinds[sec->kind].name : "unknown kind";
	uint64_t bytes, end;

	if (known && loc->seen[sec->kind])
		return snap_reject(err, snap->name, "section %" PRIu32 ": second %s section",
				   index, name);
	if (known && sec->record_size != kinds[sec->kind].record_size)
		return snap_reject(err, snap->name,
			   "section %" PRIu32 " (%s): record size %" PRIu32 ", expected %" PRIu32,
			   index, name, sec->record_size, kinds[sec->kind].record_size);
	if (sec->offset != *at)
		return snap_reject(err, snap->name,
			   "section %" PRIu32 " (%s): at byte %" PRIu64 ", not %" PRIu64
			   " where the one before it ends", index, name, sec->offset, *at);
	if (__builtin_mul_overflow(sec->count, (uint64_t)sec->record_size, &bytes) ||
	    __builtin_add_overflow(sec->offset, bytes, &end) || end > snap->size)
		return snap_reject(err, snap->name,
			   "section %" PRIu32 " (%s): %" PRIu64 " records of %" PRIu32
			   " bytes pass the end of the file", index, name, sec->count,
			   sec->record_size);
	for (*at = end; *at % SECTION_ALIGN; (*at)++)
		if (*at >= snap->size || ((const uint8_t *)snap->buffer)[*at])
			return snap_reject(err, snap->name, "section %" PRIu32
					   " (%s): not padded with zeros", index, name);
	if (!known)
		return 0;
	loc->seen[sec->kind] = true;
	loc->at[sec->kind] = (const uint8_t *)snap->buffer + sec->offset;
	loc->count[sec->kind] = sec->count;
	return 0;
}

/* Every kind of this version is there: a section whose kind was damaged
 * must not read as an empty one. */
static int locate_sections(const struct snapshot *snap, struct located *loc,
			   struct errmsg *err)
{
	uint32_t count = snap->header.section_count;
	uint64_t at = sizeof(struct lks_header) + (uint64_t)count * sizeof(struct lks_section);
	const uint8_t *table = (const uint8_t *)snap->buffer + sizeof(struct lks_header);

	if (at > snap->size)
		return snap_reject(err, snap->name, "%" PRIu32 " sections: the table passes "
				   "the end of the file", count);
	for (uint32_t i = 0; i < count; i++) {
		struct lks_section sec;
		int r;

		memcpy(&sec, table + (size_t)i * sizeof(sec), sizeof(sec));
		r = locate_one(snap, i, &sec, &at, loc, err);
		if (r < 0)
			return r;
	}
	if (at != snap->size)
		return snap_reject(err, snap->name, "%zu bytes after the last section",
				   snap->size - (size_t)at);
	/* python retainers, and the sites without one, came within version 2:
	 * older files lack them */
	for (size_t kind = 1; kind < KIND_LIMIT; kind++)
		if (kinds[kind].name && !loc->seen[kind] && kind != LKS_SEC_PYRETAINERS &&
		    kind != LKS_SEC_PYUNCHAINED)
			return snap_reject(err, snap->name, "no %s section", kinds[kind].name);
	if (loc->count[LKS_SEC_COUNTERS] != 1)
		return snap_reject(err, snap->name, "%" PRIu64 " counters records, not one",
				   loc->count[LKS_SEC_COUNTERS]);
	if (loc->count[LKS_SEC_PYTHON] > 1)
		return snap_reject(err, snap->name, "%" PRIu64 " python records, not one or none",
				   loc->count[LKS_SEC_PYTHON]);
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
	snap->pytypes = (const void *)loc->at[LKS_SEC_PYTYPES];
	snap->pytype_count = loc->count[LKS_SEC_PYTYPES];
	snap->pyobjects = (const void *)loc->at[LKS_SEC_PYOBJECTS];
	snap->pyobject_count = loc->count[LKS_SEC_PYOBJECTS];
	snap->pyretainers = (const void *)loc->at[LKS_SEC_PYRETAINERS];
	snap->pyretainer_count = loc->count[LKS_SEC_PYRETAINERS];
	snap->pyunchained = (const void *)loc->at[LKS_SEC_PYUNCHAINED];
	snap->pyunchained_count = loc->count[LKS_SEC_PYUNCHAINED];
}

static int validate(struct snapshot *snap, struct errmsg *err)
{
	static const uint8_t magic[LKS_MAGIC_LEN] = LKS_MAGIC;
	struct located loc = { 0 };
	uint32_t version;
	int r;

	if (snap->size == 0)
		return snap_reject(err, snap->name, "empty file");
	if (memcmp(snap->buffer, magic, snap->size < LKS_MAGIC_LEN ?
						snap->size : LKS_MAGIC_LEN))
		return snap_reject(err, snap->name, "not a leakscope snapshot (bad magic)");
	if (snap->size >= LKS_MAGIC_LEN + sizeof(version)) {
		memcpy(&version, (const uint8_t *)snap->buffer + LKS_MAGIC_LEN, sizeof(version));
		r = check_version(snap, version, err);
		if (r < 0)
			return r;
	}
	if (snap->size < sizeof(struct lks_header))
		return snap_reject(err, snap->name,
			   "truncated: header needs %zu bytes, file has %zu",
			   sizeof(struct lks_header), snap->size);
	memcpy(&snap->header, snap->buffer, sizeof(snap->header));
	r = check_header(snap, err);
	if (r == 0)
		r = locate_sections(snap, &loc, err);
	if (r < 0)
		return r;
	publish(snap, &loc);
	return snap_check_records(snap, err);
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

const struct lks_pytype *snap_pytype(const struct snapshot *snap, uint32_t id)
{
	size_t low = 0, high = snap->pytype_count;

	while (id && low < high) {
		size_t mid = low + (high - low) / 2;

		if (snap->pytypes[mid].id == id)
			return &snap->pytypes[mid];
		if (snap->pytypes[mid].id < id)
			low = mid + 1;
		else
			high = mid;
	}
	return NULL;
}
