/* SPDX-License-Identifier: MIT */
/* Builds the handles section: every open fd, stream and mapping with its
 * description, read now (the fd may be gone by the time anyone reports),
 * and the notes of fds that leaked into exec'd children. */
#define _GNU_SOURCE
#include "handlesnap.h"

#include "execnote.h"
#include "fdinfo.h"
#include "maptable.h"
#include "unseen.h"

struct collecting {
	struct lks_handle_sum *sum;
	struct lks_strtab *strings;
	struct lks_buf maps;
	const uint64_t *referenced;  /* ascending mapping starts */
	size_t referenced_count;
};

static bool is_referenced(const struct collecting *c, uint64_t addr)
{
	size_t lo = 0, hi = c->referenced_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->referenced[mid] == addr)
			return true;
		if (c->referenced[mid] < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Counted open only when written: the reader checks handles_open against
 * the records. */
static void add_record(struct collecting *c, struct lks_handle *record,
                       const char *description)
{
	if (record->trace >= c->sum->trace_limit)
		return;  /* interned after this snapshot started */
	record->description = description[0] ? lks_strtab_add(c->strings, description) : 0;
	c->sum->uses_trace[record->trace] = 1;
	if (record->trace >= c->sum->trace_end)
		c->sum->trace_end = record->trace + 1;
	if (lks_buf_append(&c->sum->records, record, sizeof(*record)) &&
	    !(record->flags & (LKS_HDF_REFERENCED | LKS_HDF_TO_CHILD | LKS_HDF_INHERITED)))
		c->sum->open++;
}

static void add_fd(const struct lks_fd_entry *entry, void *ctx)
{
	struct collecting *c = ctx;
	struct lks_handle record = { .fd = entry->fd, .type = entry->type,
	                             .trace = entry->trace, .addr = entry->addr,
	                             .size = entry->bytes };
	char description[LKS_DESCRIPTION_MAX];
	enum lks_fd_state state;

	state = lks_fd_check(entry);
	if (state != LKS_FD_SAME) {  /* closed behind the shim's back */
		c->sum->closed_unseen++;
		c->sum->replaced_unseen += state == LKS_FD_REPLACED;
		return;
	}
	/* a fork child's copy of its parent's fd: listed apart, as Valgrind
	 * does, since the parent reports its own copy */
	if (entry->flags & LKS_FD_INHERITED)
		record.flags = LKS_HDF_INHERITED;
	lks_describe_fd(entry->fd, entry->type, description, sizeof(description));
	add_record(c, &record, description);
}

static void add_mapping(const struct lks_map_entry *entry, void *ctx)
{
	struct collecting *c = ctx;
	struct lks_handle record = { .fd = -1, .type = LKS_HANDLE_MMAP,
	                             .trace = entry->trace, .addr = entry->addr,
	                             .size = entry->size };
	char description[LKS_DESCRIPTION_MAX];

	if (entry->flags & LKS_FD_INHERITED)
		return;  /* the parent's: it reports it */
	/* unmapped by a path the shim does not see: no mapping holds its start
	 * any more, or the kernel has since given the range to the shim */
	if (!lks_describe_mapping(&c->maps, entry->addr, entry->size, description,
	                          sizeof(description)) ||
	    lks_arena_holds(entry->addr)) {
		c->sum->unmapped_unseen++;
		return;
	}
	if (is_referenced(c, entry->addr))
		record.flags = LKS_HDF_REFERENCED;  /* held, not leaked */
	add_record(c, &record, description);
}

static void add_note(const struct lks_exec_note *note, void *ctx)
{
	struct collecting *c = ctx;
	struct lks_handle record = { .fd = note->fd, .type = note->type,
	                             .flags = LKS_HDF_TO_CHILD };

	record.trace = lks_depot_intern((void *const *)note->frames, note->depth);
	add_record(c, &record, note->description);
}

int lks_handles_collect(struct lks_handle_sum *sum, struct lks_strtab *strings,
                        uint32_t trace_limit, const struct lks_buf *referenced)
{
	struct collecting c = { .sum = sum, .strings = strings,
	                        .referenced = (const uint64_t *)referenced->bytes,
	                        .referenced_count = referenced->len / sizeof(uint64_t) };

	sum->trace_limit = trace_limit;
	sum->uses_trace_bytes = trace_limit;
	sum->uses_trace = lks_map(sum->uses_trace_bytes);
	if (!sum->uses_trace)
		return -1;
	lks_fd_foreach(add_fd, &c);
	sum->opened_unseen = lks_unseen_count();
	if (lks_read_maps(&c.maps) < 0)
		lks_buf_free(&c.maps);  /* mappings are then listed undescribed */
	lks_mapping_foreach(add_mapping, &c);
	lks_buf_free(&c.maps);
	lks_execnote_foreach(add_note, &c);
	return sum->records.failed ? -1 : 0;
}

bool lks_handles_use_trace(const struct lks_handle_sum *sum, uint32_t trace)
{
	return sum->uses_trace && trace < sum->trace_limit && sum->uses_trace[trace];
}

void lks_handles_sum_free(struct lks_handle_sum *sum)
{
	lks_unmap(sum->uses_trace, sum->uses_trace_bytes);
	lks_buf_free(&sum->records);
}
