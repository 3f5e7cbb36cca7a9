/* SPDX-License-Identifier: MIT */
/* A snapshot: live blocks summed per stack (and class, after an exit scan),
 * the stacks they use, the handles, the modules to symbolize them, handed
 * to snapfile.c to be written. */
#define _GNU_SOURCE
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fdproxy.h"
#include "handles/execnote.h"
#include "handles/handlesnap.h"
#include "python/python.h"
#include "shim.h"
#include "snapfile.h"

#define FAMILIES 3
#define CLASSES (LKS_CLASS_REACHABLE + 1)
#define HEURISTICS LKS_HEUR_EMPTY_ARRAY  /* reachable only by one of them */
#define APART 3           /* definite, indirect and possible blocks counted apart */
#define SITE_KEYS (FAMILIES * (CLASSES + HEURISTICS + APART)) /* per trace */
#define TRACE_MARGIN 65536 /* stacks interned while we read the table */

static uint32_t snapshot_seq; /* atomic: per process */

struct site_sum {
	struct lks_buf sites;     /* struct lks_site */
	uint32_t *site_of;        /* (trace * FAMILIES + family) * (CLASSES +
	                           * HEURISTICS + APART) + class, or for reachable
	                           * blocks named by a heuristic CLASSES +
	                           * heuristic - 1, for lost ones counted apart
	                           * CLASSES + HEURISTICS + class - DEFINITE
	                           * -> index + 1 */
	size_t site_of_bytes;
	uint32_t trace_limit;
	uint32_t trace_end;       /* one past the highest trace a site uses */
	struct lks_pytypes *pytypes; /* NULL: no Python objects to type */
};

static uint64_t site_key(const struct lks_block *block, uint8_t klass, uint8_t heuristic,
                         bool apart)
{
	uint64_t row = ((uint64_t)block->trace * FAMILIES + block->family) *
	               (CLASSES + HEURISTICS + APART);

	if (apart)
		return row + CLASSES + HEURISTICS + klass - LKS_CLASS_DEFINITE;
	return row + (heuristic && heuristic <= HEURISTICS ? CLASSES + heuristic - 1u : klass);
}

static void add_classified(const struct lks_block *block, uint8_t klass, uint8_t heuristic,
                           bool apart, uint64_t indirect_blocks, uint64_t indirect_bytes,
                           void *ctx)
{
	struct site_sum *sum = ctx;
	uint64_t key = site_key(block, klass, heuristic, apart);
	struct lks_site *site;

	if (block->trace >= sum->trace_limit || block->family >= FAMILIES)
		return;  /* newer than this snapshot */
	if (sum->site_of[key] == 0) {
		struct lks_site fresh = { .trace = block->trace, .klass = klass,
		                          .family = block->family, .heuristic = heuristic,
		                          .apart = apart ? LKS_APART_PY_IMMORTAL : LKS_APART_NONE,
		                          .oldest_seq = block->seq };

		if (!lks_buf_append(&sum->sites, &fresh, sizeof(fresh)))
			return;
		sum->site_of[key] = (uint32_t)(sum->sites.len / sizeof(fresh));
	}
	if (block->trace >= sum->trace_end)
		sum->trace_end = block->trace + 1;
	site = (struct lks_site *)sum->sites.bytes + sum->site_of[key] - 1;
	site->blocks++;
	site->bytes += block->size;
	site->indirect_blocks += indirect_blocks;
	site->indirect_bytes += indirect_bytes;
	if (block->size > site->largest)
		site->largest = block->size;
	if ((int32_t)(block->seq - site->oldest_seq) < 0)
		site->oldest_seq = block->seq;
	if (sum->pytypes)
		lks_pytypes_visit(sum->pytypes, block, klass);
}

static void add_block(const struct lks_block *block, void *ctx)
{
	add_classified(block, LKS_CLASS_UNFREED, LKS_HEUR_NONE, false, 0, 0, ctx);
}

/* With a reachability scan, sites are split by class. */
static int sum_sites(struct site_sum *sum, const struct lks_reach *reach)
{
	sum->trace_limit = lks_depot_count() + TRACE_MARGIN;
	sum->site_of_bytes = (size_t)sum->trace_limit * SITE_KEYS * sizeof(uint32_t);
	sum->site_of = lks_map(sum->site_of_bytes);
	if (!sum->site_of)
		return -1;
	if (reach)
		lks_reach_foreach(reach, add_classified, sum);
	else
		lks_live_foreach(add_block, sum);
	return sum->sites.failed ? -1 : 0;
}

/* Stacks used by the sites and handles, by ascending id, with their frames.
 * Up to the highest id used only: the table has room for 65,536 more, and
 * reading it all costs a small process more than its whole snapshot. */
static int write_traces(const struct site_sum *sum, const struct lks_handle_sum *handles,
                        struct lks_buf *traces, struct lks_buf *frames)
{
	uint32_t end = sum->trace_end > handles->trace_end ? sum->trace_end : handles->trace_end;
	uint64_t frame_count = 0;

	for (uint32_t id = 1; id < end; id++) {
		const uint32_t *row = &sum->site_of[(uint64_t)id * SITE_KEYS];
		struct lks_trace record = { .id = id };
		const uint64_t *ips;
		bool used = false;

		for (int key = 0; key < SITE_KEYS; key++)
			used |= row[key] != 0;
		used |= lks_handles_use_trace(handles, id);
		if (!used)
			continue;
		ips = lks_depot_frames(id, &record.depth);
		if (!ips)
			continue;
		record.first = frame_count;
		frame_count += record.depth;
		lks_buf_append(traces, &record, sizeof(record));
		lks_buf_append(frames, ips, record.depth * sizeof(*ips));
	}
	return traces->failed || frames->failed ? -1 : 0;
}

static void fill_counters(struct lks_counters *counters, const struct lks_buf *sites,
                          struct lks_snapshot_result *result)
{
	struct lks_live_stats stats;
	struct lks_unwind_stats unwind;
	const struct lks_site *site = (const struct lks_site *)sites->bytes;
	size_t count = sites->len / sizeof(*site);

	lks_live_stats(&stats);
	lks_unwind_stats(&unwind);
	*counters = (struct lks_counters){
		.allocs = stats.allocs, .frees = stats.frees,
		.missed_allocs = stats.missed_allocs, .missed_stacks = lks_depot_missed(),
		.unknown_frees = stats.unknown_frees, .mismatched_frees = stats.mismatched_frees,
		.bootstrap_allocs = lks_bootstrap_count(), .traces = lks_depot_count() - 1,
		.tool_bytes = lks_mapped_bytes(), .tool_resident_bytes = lks_arena_resident(),
		.busy_allocs = stats.busy_allocs, .recovered_scopes = lks_busy_recovered(),
		.as_limit_bytes = lks_aslimit_stopped(),
		.unwind_truncated = unwind.truncated, .unwind_slow_frames = unwind.slow_frames,
		.unwind_table_bytes = unwind.table_bytes, .unwind_checked = unwind.checked,
		.unwind_differences = unwind.differences,
	};
	*result = (struct lks_snapshot_result){ .sites = count,
		.missed_allocs = counters->missed_allocs, .busy_allocs = counters->busy_allocs,
		.missed_stacks = counters->missed_stacks,
		.unknown_frees = counters->unknown_frees };
	for (size_t i = 0; i < count; i++) {
		counters->live_blocks += site[i].blocks;
		counters->live_bytes += site[i].bytes;
		if (site[i].klass == LKS_CLASS_REACHABLE)
			result->reachable_bytes += site[i].bytes;
	}
	result->blocks = counters->live_blocks;
	result->bytes = counters->live_bytes;
}

/* ---- the header ----------------------------------------------------------- */

static uint64_t realtime_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static void fill_header(struct lks_header *header, enum lks_reason reason,
                        uint32_t seq, int exit_status, struct lks_strtab *strings,
                        const char *label)
{
	*header = (struct lks_header){
		.version = LKS_VERSION, .header_size = sizeof(*header),
		.section_count = LKS_PART_COUNT, .reason = reason, .pid = getpid(),
		.ppid = getppid(), .seq = seq,
		.exit_status = reason == LKS_REASON_FATAL_SIGNAL ? -1 : exit_status,
		.signal = reason == LKS_REASON_FATAL_SIGNAL ? exit_status : 0,
		.time_ns = realtime_ns(), .uptime_ns = lks_uptime_ns(),
		.flags = (lks_forked_child() ? LKS_HF_FORKED : 0) |
		         (lks_own_malloc() ? LKS_HF_OWN_MALLOC : 0),
		.max_depth = (uint32_t)lks_opt.depth,
	};
	memcpy(header->magic, LKS_MAGIC, LKS_MAGIC_LEN);
	lks_identity_fill(header);
	header->exe = lks_strtab_add(strings, lks_exe_path());
	header->label = lks_strtab_add(strings, label);
}

/* verbose=1: where the snapshot went, and what was not recorded so far. */
static void say_written(int failed, const char *label,
                        const struct lks_snapshot_result *result,
                        const struct lks_counters *counters)
{
	struct lks_line line = { .len = 0 };

	lks_line_str(&line, "snapshot '");
	lks_line_str(&line, label);
	if (failed || !counters) {
		lks_line_str(&line, "' NOT written in ");
		lks_line_str(&line, lks_output_dir());
		lks_say(&line);
		return;
	}
	lks_line_str(&line, "' written: ");
	lks_line_str(&line, result->path);
	lks_say(&line);
	line.len = 0;
	lks_line_str(&line, "counts: ");
	lks_line_count(&line, counters->allocs, " allocations, ");
	lks_line_count(&line, counters->frees, " frees; NOT recorded: ");
	lks_line_count(&line, counters->missed_allocs, " allocations (");
	lks_line_count(&line, counters->busy_allocs, " made while the shim was busy), ");
	lks_line_count(&line, counters->missed_stacks, " stacks, ");
	lks_line_count(&line, counters->missed_handles, " handles, ");
	lks_line_count(&line, counters->missed_threads, " threads not stopped; ");
	lks_line_count(&line, counters->unknown_frees, " frees of unknown blocks; ");
	lks_line_count(&line, counters->recovered_scopes, " jumps out of the shim recovered");
	lks_say(&line);
}

static int write_snapshot(enum lks_reason reason, const char *label, int exit_status,
                          struct lks_snapshot_result *result);

/* The Python sections; with them the retainer chains from the modules of
 * the python-exit snapshot, and of in-run ones when asked (python_retainers
 * =2: they cost an in-run snapshot a walk of the heap). The exit snapshot
 * comes after module teardown, and has the scan's chains. */
static int write_python(enum lks_reason reason, struct lks_snap_parts *parts,
                        const struct site_sum *sum, struct lks_pytypes *pytypes,
                        uint32_t *header_flags)
{
	bool in_run = reason == LKS_REASON_SIGNAL || reason == LKS_REASON_TIMER ||
	              reason == LKS_REASON_API;
	bool chains = in_run ? lks_opt.python_retainers >= 2 :
	              reason == LKS_REASON_PYTHON_EXIT && lks_opt.python_retainers >= 1;

	return lks_py_snapshot(&(struct lks_py_parts){
		.info = &parts->buf[LKS_PART_PYTHON], .codes = &parts->buf[LKS_PART_PYCODES],
		.bytes = &parts->buf[LKS_PART_PYBYTES], .types = &parts->buf[LKS_PART_PYTYPES],
		.objects = &parts->buf[LKS_PART_PYOBJECTS],
		.retainers = chains ? &parts->buf[LKS_PART_RETAINERS] : NULL,
		.pyretainers = chains ? &parts->buf[LKS_PART_PYRETAINERS] : NULL,
		.unchained = chains ? &parts->buf[LKS_PART_PYUNCHAINED] : NULL,
		.sites = (const struct lks_site *)sum->sites.bytes,
		.site_count = sum->sites.len / sizeof(struct lks_site), .to_growth = in_run },
		pytypes, &parts->strings, header_flags);
}

/* Every fd the snapshot opens may have to be the helper's (fdproxy.c): the
 * program may hold every one it is allowed. */
int lks_snapshot_write(enum lks_reason reason, const char *label, int exit_status,
                       struct lks_snapshot_result *result)
{
	int failed;

	lks_fdproxy_begin();
	failed = write_snapshot(reason, label, exit_status, result);
	result->fd_limit = failed ? lks_fdproxy_limit_met() : 0;
	lks_fdproxy_end();
	return failed;
}

static int write_snapshot(enum lks_reason reason, const char *label, int exit_status,
                          struct lks_snapshot_result *result)
{
	uint64_t started = lks_uptime_ns();
	/* before any thread is stopped: it asks the loader for its objects */
	struct lks_pytypes *pytypes = lks_pytypes_begin();
	/* only at the end: leaks are what the program keeps until then */
	struct lks_reach *reach = reason == LKS_REASON_EXIT || reason == LKS_REASON__EXIT ||
	                          reason == LKS_REASON_FATAL_SIGNAL ? lks_reach_scan() : NULL;
	struct site_sum sum = { .pytypes = pytypes };
	struct lks_handle_sum handles = { 0 };
	struct lks_buf referenced = { 0 };  /* mappings still pointed at */
	struct lks_snap_parts parts = { 0 };
	struct lks_header header;
	struct lks_counters *counters;
	uint64_t scanned_bytes = 0, missed_threads = 0, unreadable_root_bytes = 0;
	int failed;

	lks_strtab_add(&parts.strings, "");  /* offset 0 is the empty string */
	fill_header(&header, reason, __atomic_add_fetch(&snapshot_seq, 1, __ATOMIC_RELAXED),
	            exit_status, &parts.strings, label);
	/* the only lost blocks counted apart are CPython's, proven so */
	if (reach)
		lks_reach_set_apart(reach, lks_py_immortal);
	failed = sum_sites(&sum, reach);
	if (reach) {
		header.flags |= LKS_HF_CLASSIFIED;
		scanned_bytes = lks_reach_scanned_bytes(reach);
		missed_threads = lks_reach_missed_threads(reach);
		unreadable_root_bytes = lks_reach_unreadable_root_bytes(reach);
		lks_reach_retainers(reach, (const struct lks_site *)sum.sites.bytes,
		                    sum.sites.len / sizeof(struct lks_site),
		                    &parts.buf[LKS_PART_RETAINERS]);
		lks_reach_referenced_mappings(reach, &referenced);
	}
	/* with the other threads still held, as when the scan noted which
	 * mappings are pointed at: one a thread maps once let go would be
	 * listed open, never having been looked for */
	failed |= referenced.failed;
	failed |= lks_handles_collect(&handles, &parts.strings, sum.trace_limit, &referenced);
	/* lets the other threads go: nothing below reads the program's memory,
	 * and dl_iterate_phdr may wait for a lock one of them holds */
	lks_reach_end(reach);
	lks_buf_free(&referenced);
	parts.buf[LKS_PART_HANDLES] = handles.records;  /* freed with the other parts */
	handles.records = (struct lks_buf){ 0 };
	failed |= write_traces(&sum, &handles, &parts.buf[LKS_PART_TRACES], &parts.buf[LKS_PART_FRAMES]);
	failed |= lks_modules_write(&parts.buf[LKS_PART_MODULES], &parts.strings);
	/* after the traces: every code copy they name is written */
	failed |= write_python(reason, &parts, &sum, pytypes, &header.flags);
	lks_pytypes_end(pytypes);
	counters = lks_buf_append(&parts.buf[LKS_PART_COUNTERS], NULL, sizeof(*counters));
	if (counters) {
		fill_counters(counters, &sum.sites, result);
		counters->snapshot_ns = lks_uptime_ns() - started;
		counters->scanned_bytes = scanned_bytes;
		counters->missed_threads = missed_threads;
		counters->unreadable_root_bytes = unreadable_root_bytes;
		counters->handles_open = handles.open;
		counters->closed_unseen = handles.closed_unseen;
		counters->replaced_unseen = handles.replaced_unseen;
		counters->unmapped_unseen = handles.unmapped_unseen;
		counters->opened_unseen = handles.opened_unseen;
		counters->missed_handles = lks_handles_missed();
		counters->missed_children = lks_execnote_untraced();
		result->handles = handles.open;
	}
	parts.buf[LKS_PART_SITES] = sum.sites;
	/* a part that failed (memory refused, /proc unreadable) left no errno
	 * of its own by the time it is known here */
	result->failed = (struct lks_write_error){ "collecting", 0 };
	if (!failed && counters && !parts.strings.buf.failed)
		failed = lks_snapfile_store(&header, &parts, result->path, sizeof(result->path),
		                            label, &result->failed);
	else
		failed = -1;
	if (lks_opt.verbose)
		say_written(failed, label, result, counters);
	lks_unmap(sum.site_of, sum.site_of_bytes);
	lks_handles_sum_free(&handles);
	lks_snapfile_free(&parts);
	return failed ? -1 : 0;
}
