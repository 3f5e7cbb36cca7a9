/* SPDX-License-Identifier: MIT */
/* Snapshot files: live blocks summed per stack, the stacks they use, the
 * modules to symbolize them, written atomically (temp file, then a rename
 * that never replaces an existing file), mode 0600, no symlink followed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "handlesnap.h"
#include "python/python.h"
#include "shim.h"

#define FAMILIES 3
#define CLASSES (LKS_CLASS_REACHABLE + 1)
#define SITE_KEYS (FAMILIES * CLASSES) /* per trace */
#define TRACE_MARGIN 65536 /* stacks interned while we read the table */

static uint32_t snapshot_seq; /* atomic: per process */

struct site_sum {
	struct lks_buf sites;     /* struct lks_site */
	uint32_t *site_of;        /* ((trace * FAMILIES + family) * CLASSES + class)
	                           * -> index + 1 */
	size_t site_of_bytes;
	uint32_t trace_limit;
	uint32_t trace_end;       /* one past the highest trace a site uses */
};

static void add_classified(const struct lks_block *block, uint8_t klass,
                           uint64_t indirect_blocks, uint64_t indirect_bytes, void *ctx)
{
	struct site_sum *sum = ctx;
	uint64_t key = ((uint64_t)block->trace * FAMILIES + block->family) * CLASSES + klass;
	struct lks_site *site;

	if (block->trace >= sum->trace_limit || block->family >= FAMILIES)
		return;  /* newer than this snapshot */
	if (sum->site_of[key] == 0) {
		struct lks_site fresh = { .trace = block->trace, .klass = klass,
		                          .family = block->family, .oldest_seq = block->seq };

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
}

static void add_block(const struct lks_block *block, void *ctx)
{
	add_classified(block, LKS_CLASS_UNFREED, 0, 0, ctx);
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
	const struct lks_site *site = (const struct lks_site *)sites->bytes;
	size_t count = sites->len / sizeof(*site);

	lks_live_stats(&stats);
	*counters = (struct lks_counters){
		.allocs = stats.allocs, .frees = stats.frees,
		.missed_allocs = stats.missed_allocs, .missed_stacks = lks_depot_missed(),
		.unknown_frees = stats.unknown_frees, .mismatched_frees = stats.mismatched_frees,
		.bootstrap_allocs = lks_bootstrap_count(), .traces = lks_depot_count() - 1,
		.tool_bytes = lks_mapped_bytes(), .tool_resident_bytes = lks_arena_resident(),
	};
	*result = (struct lks_snapshot_result){ .sites = count,
		.missed_allocs = counters->missed_allocs,
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

/* ---- file layout ---------------------------------------------------------- */

enum { SEC_STRINGS, SEC_COUNTERS, SEC_MODULES, SEC_TRACES, SEC_FRAMES, SEC_SITES,
       SEC_HANDLES, SEC_RETAINERS, SEC_PYTHON, SEC_PYCODES, SEC_PYBYTES, SECTION_COUNT };

struct parts {
	struct lks_buf buf[SECTION_COUNT];
	struct lks_strtab strings;
};

static const struct { uint32_t kind, record_size; } section_kinds[SECTION_COUNT] = {
	[SEC_STRINGS] = { LKS_SEC_STRINGS, 1 },
	[SEC_COUNTERS] = { LKS_SEC_COUNTERS, sizeof(struct lks_counters) },
	[SEC_MODULES] = { LKS_SEC_MODULES, sizeof(struct lks_module) },
	[SEC_TRACES] = { LKS_SEC_TRACES, sizeof(struct lks_trace) },
	[SEC_FRAMES] = { LKS_SEC_FRAMES, sizeof(uint64_t) },
	[SEC_SITES] = { LKS_SEC_SITES, sizeof(struct lks_site) },
	[SEC_HANDLES] = { LKS_SEC_HANDLES, sizeof(struct lks_handle) },
	[SEC_RETAINERS] = { LKS_SEC_RETAINERS, sizeof(struct lks_retainer_step) },
	[SEC_PYTHON] = { LKS_SEC_PYTHON, sizeof(struct lks_python) },
	[SEC_PYCODES] = { LKS_SEC_PYCODES, sizeof(struct lks_pycode) },
	[SEC_PYBYTES] = { LKS_SEC_PYBYTES, 1 },
};

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
		.section_count = SECTION_COUNT, .reason = reason, .pid = getpid(),
		.ppid = getppid(), .seq = seq, .exit_status = exit_status,
		.time_ns = realtime_ns(), .uptime_ns = lks_uptime_ns(),
		.flags = (lks_forked_child() ? LKS_HF_FORKED : 0) |
		         (lks_own_malloc() ? LKS_HF_OWN_MALLOC : 0),
		.max_depth = (uint32_t)lks_opt.depth,
	};
	memcpy(header->magic, LKS_MAGIC, LKS_MAGIC_LEN);
	header->exe = lks_strtab_add(strings, lks_exe_path());
	header->label = lks_strtab_add(strings, label);
}

static int write_file(int fd, const struct lks_header *header, struct parts *parts)
{
	static const uint8_t zeros[8];
	struct lks_section table[SECTION_COUNT];
	uint64_t offset = sizeof(*header) + sizeof(table);

	parts->buf[SEC_STRINGS] = parts->strings.buf;
	for (int i = 0; i < SECTION_COUNT; i++) {
		table[i] = (struct lks_section){ section_kinds[i].kind,
			section_kinds[i].record_size, offset,
			parts->buf[i].len / section_kinds[i].record_size };
		offset += (parts->buf[i].len + 7) & ~(uint64_t)7;
	}
	if (lks_write_all(fd, header, sizeof(*header)) || lks_write_all(fd, table, sizeof(table)))
		return -1;
	for (int i = 0; i < SECTION_COUNT; i++) {
		size_t pad = (8 - parts->buf[i].len % 8) % 8;

		if (lks_write_all(fd, parts->buf[i].bytes, parts->buf[i].len) ||
		    lks_write_all(fd, zeros, pad))
			return -1;
	}
	return 0;
}

/* ---- naming and the atomic write ----------------------------------------- */

static void safe_append(char *dst, size_t size, const char *src)
{
	size_t len = strlen(dst);

	for (; *src && len + 1 < size; src++) {
		char c = *src;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		             (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '+';

		dst[len++] = plain ? c : '_';
	}
	dst[len] = '\0';
}

static void make_name(char *name, size_t size, uint32_t seq, const char *label)
{
	const char *exe = lks_exe_path(), *slash = strrchr(exe, '/');
	struct lks_line numbers = { .len = 0 };

	name[0] = '\0';
	safe_append(name, size, slash ? slash + 1 : exe[0] ? exe : "unknown");
	lks_line_str(&numbers, ".");
	lks_line_u64(&numbers, (uint64_t)getpid());
	lks_line_str(&numbers, ".");
	lks_line_u64(&numbers, seq);
	lks_line_str(&numbers, ".");
	numbers.text[numbers.len] = '\0';
	strncat(name, numbers.text, size - strlen(name) - 1);
	safe_append(name, size, label);
}

/* rename that fails instead of replacing: a reused pid must not overwrite
 * the file of an earlier process. */
static int publish(const char *tmp, char *path, size_t size, const char *dir,
                   const char *name)
{
	for (int attempt = 1; attempt < 100; attempt++) {
		struct lks_line suffix = { .len = 0 };

		if (attempt > 1) {
			lks_line_str(&suffix, "-");
			lks_line_u64(&suffix, (uint64_t)attempt);
		}
		suffix.text[suffix.len] = '\0';
		if (snprintf(path, size, "%s/%s%s.lks", dir, name, suffix.text) >= (int)size)
			return -1;
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

static int store(const struct lks_header *header, struct parts *parts, char *path,
                 size_t path_size, const char *label)
{
	char name[256], tmp[4096];
	const char *dir = lks_output_dir();
	int fd, failed;

	make_name(name, sizeof(name), header->seq, label);
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	failed = write_file(fd, header, parts);
	failed |= close(fd);
	if (failed || publish(tmp, path, path_size, dir, name)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int lks_snapshot_write(enum lks_reason reason, const char *label, int exit_status,
                       struct lks_snapshot_result *result)
{
	uint64_t started = lks_uptime_ns();
	/* only at exit: leaks are what the program keeps until its end */
	struct lks_reach *reach = reason == LKS_REASON_EXIT || reason == LKS_REASON__EXIT ?
		lks_reach_scan() : NULL;
	struct site_sum sum = { 0 };
	struct lks_handle_sum handles = { 0 };
	struct lks_buf referenced = { 0 };  /* mappings still pointed at */
	struct parts parts = { 0 };
	struct lks_header header;
	struct lks_counters *counters;
	uint64_t scanned_bytes = 0, missed_threads = 0;
	int failed;

	lks_strtab_add(&parts.strings, "");  /* offset 0 is the empty string */
	fill_header(&header, reason, __atomic_add_fetch(&snapshot_seq, 1, __ATOMIC_RELAXED),
	            exit_status, &parts.strings, label);
	failed = sum_sites(&sum, reach);
	if (reach) {
		header.flags |= LKS_HF_CLASSIFIED;
		scanned_bytes = lks_reach_scanned_bytes(reach);
		missed_threads = lks_reach_missed_threads(reach);
		lks_reach_retainers(reach, (const struct lks_site *)sum.sites.bytes,
		                    sum.sites.len / sizeof(struct lks_site),
		                    &parts.buf[SEC_RETAINERS]);
		lks_reach_referenced_mappings(reach, &referenced);
	}
	/* lets the other threads go: nothing below reads the program's memory,
	 * and dl_iterate_phdr may wait for a lock one of them holds */
	lks_reach_end(reach);
	failed |= referenced.failed;
	failed |= lks_handles_collect(&handles, &parts.strings, sum.trace_limit, &referenced);
	lks_buf_free(&referenced);
	parts.buf[SEC_HANDLES] = handles.records;  /* freed with the other parts */
	handles.records = (struct lks_buf){ 0 };
	failed |= write_traces(&sum, &handles, &parts.buf[SEC_TRACES], &parts.buf[SEC_FRAMES]);
	failed |= lks_modules_write(&parts.buf[SEC_MODULES], &parts.strings);
	/* after the traces: every code copy they name is written */
	failed |= lks_py_snapshot(&parts.buf[SEC_PYTHON], &parts.buf[SEC_PYCODES],
	                          &parts.buf[SEC_PYBYTES], &parts.strings, &header.flags);
	counters = lks_buf_append(&parts.buf[SEC_COUNTERS], NULL, sizeof(*counters));
	if (counters) {
		fill_counters(counters, &sum.sites, result);
		counters->snapshot_ns = lks_uptime_ns() - started;
		counters->scanned_bytes = scanned_bytes;
		counters->missed_threads = missed_threads;
		counters->handles_open = handles.open;
		counters->missed_handles = lks_handles_missed();
		result->handles = handles.open;
	}
	parts.buf[SEC_SITES] = sum.sites;
	if (!failed && counters && !parts.strings.buf.failed)
		failed = store(&header, &parts, result->path, sizeof(result->path), label);
	else
		failed = -1;
	lks_unmap(sum.site_of, sum.site_of_bytes);
	lks_handles_sum_free(&handles);
	parts.buf[SEC_STRINGS] = (struct lks_buf){ 0 };
	for (int i = 0; i < SECTION_COUNT; i++)
		lks_buf_free(&parts.buf[i]);
	lks_buf_free(&parts.strings.buf);
	return failed ? -1 : 0;
}
