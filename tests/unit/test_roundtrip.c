/* SPDX-License-Identifier: MIT */
/* The snapshot format from both sides: records of every section kind,
 * every field set, written by the shim's writer (shim/snapfile.c) and read
 * back by the reporter's reader (report/snapread.c), which must accept the
 * file and give back every record as it was written.
 * Usage: test_roundtrip (TAP output) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapfile.h"
#include "snapread.h"
#include "tap.h"

#define MODULES 3
#define TRACES 4
#define SITES 5
#define HANDLES 3
#define STEPS 4

struct written {
	struct lks_header header;
	struct lks_counters counters;
	struct lks_module modules[MODULES];
	struct lks_trace traces[TRACES];
	uint64_t frames[1 + 2 + 3 + 4];
	struct lks_site sites[SITES];
	struct lks_handle handles[HANDLES];
	struct lks_retainer_step steps[STEPS];
	uint32_t label;
};

/* Every byte of a counters record differs: a field moved or dropped shows.
 * Those the reader sums from the records are their sums. */
static void fill_counters(struct written *w)
{
	uint8_t *bytes = (uint8_t *)&w->counters;

	for (size_t i = 0; i < sizeof(w->counters); i++)
		bytes[i] = (uint8_t)(i * 7 + 1);
	w->counters.live_blocks = w->counters.live_bytes = w->counters.handles_open = 0;
	for (uint32_t i = 0; i < SITES; i++) {
		w->counters.live_blocks += w->sites[i].blocks;
		w->counters.live_bytes += w->sites[i].bytes;
	}
	for (uint32_t i = 0; i < HANDLES; i++)
		w->counters.handles_open +=
			!(w->handles[i].flags & (LKS_HDF_REFERENCED | LKS_HDF_TO_CHILD));
	w->counters.traces = w->traces[TRACES - 1].id;
}

static void fill_records(struct written *w, struct lks_strtab *strings)
{
	uint64_t frame = 0;

	for (uint32_t i = 0; i < MODULES; i++) {
		w->modules[i] = (struct lks_module){ .bias = 0x1000u * i, .start = 0x400000u + i,
			.end = 0x500000u + i, .flags = i == 0 ? LKS_MF_MAIN : LKS_MF_SHIM,
			.build_id_len = 20 };
		w->modules[i].path = lks_strtab_add(strings, i == 0 ? "/bin/prog" : "/lib/libx.so");
		memset(w->modules[i].build_id, 0xa0 + (int)i, 20);
	}
	for (uint32_t i = 0; i < TRACES; i++) {
		w->traces[i] = (struct lks_trace){ .id = 2 * i + 1, .depth = i + 1, .first = frame };
		for (uint32_t f = 0; f <= i; f++, frame++)
			w->frames[frame] = 0x401000u + 0x10u * frame;
	}
	for (uint32_t i = 0; i < SITES; i++)
		w->sites[i] = (struct lks_site){ .trace = i ? w->traces[i % TRACES].id : 0,
			.klass = (uint8_t)(1 + i % 4), .family = (uint8_t)(i % 3), .blocks = 10 + i,
			.bytes = 1000 + i, .indirect_blocks = i, .indirect_bytes = 100 * i,
			.largest = 500 + i, .oldest_seq = 77 + i };
	for (uint32_t i = 0; i < HANDLES; i++)
		w->handles[i] = (struct lks_handle){ .fd = (int32_t)i + 3, .type = (uint16_t)(i + 11),
			.flags = (uint16_t)(i % 3), .trace = w->traces[i].id,
			.description = lks_strtab_add(strings, "socket AF_INET 127.0.0.1:80"),
			.addr = 0x7f0000000000u + i, .size = 4096u * i };
	w->steps[0] = (struct lks_retainer_step){ .chain = 0, .kind = LKS_RK_STACK, .addr = 0x7ffd0,
		.thread = 2, .frame_ip = 0x401234 };
	for (uint32_t i = 1; i < STEPS; i++)
		w->steps[i] = (struct lks_retainer_step){ .chain = 0, .kind = LKS_RK_BLOCK,
			.addr = 0x5000u * i, .offset = 8 * i, .trace = w->traces[i].id, .size = 64 * i };
	fill_counters(w);
}

static void fill_header(struct lks_header *header, struct lks_strtab *strings)
{
	*header = (struct lks_header){ .version = LKS_VERSION, .header_size = sizeof(*header),
		.section_count = LKS_PART_COUNT, .reason = LKS_REASON_API, .pid = 4242,
		.ppid = 4241, .seq = 3, .exit_status = -1, .time_ns = 1700000000123456789u,
		.uptime_ns = 987654321, .flags = LKS_HF_CLASSIFIED | LKS_HF_FORKED,
		.max_depth = 64, .instance = 0x1122334455667788u, .start_ticks = 123456789 };
	memcpy(header->magic, LKS_MAGIC, LKS_MAGIC_LEN);
	memset(header->run_token, 0x5a, sizeof(header->run_token));
	header->exe = lks_strtab_add(strings, "/bin/prog");
	header->label = lks_strtab_add(strings, "round-trip");
}

#define APPEND(part, array) lks_buf_append(&parts.buf[part], (array), sizeof(array))

/* Writes every part with the shim's writer; the file's path, or NULL. */
static const char *write_snapshot(struct written *w, char *path, size_t size)
{
	struct lks_snap_parts parts = { 0 };
	struct lks_write_error error;
	int failed;

	lks_strtab_add(&parts.strings, "");  /* offset 0 is the empty string */
	fill_header(&w->header, &parts.strings);
	fill_records(w, &parts.strings);
	lks_buf_append(&parts.buf[LKS_PART_COUNTERS], &w->counters, sizeof(w->counters));
	APPEND(LKS_PART_MODULES, w->modules);
	APPEND(LKS_PART_TRACES, w->traces);
	APPEND(LKS_PART_FRAMES, w->frames);
	APPEND(LKS_PART_SITES, w->sites);
	APPEND(LKS_PART_HANDLES, w->handles);
	APPEND(LKS_PART_RETAINERS, w->steps);
	failed = lks_snapfile_store(&w->header, &parts, path, size, "round-trip", &error);
	lks_snapfile_free(&parts);
	return failed ? NULL : path;
}

#define SAME(got, count, array)                                          \
	ok((count) == sizeof(array) / sizeof((array)[0]) &&               \
	   !memcmp((got), (array), sizeof(array)), "%s: %zu records as written", #array, \
	   (size_t)(count))

static void compare(const struct snapshot *snap, const struct written *w)
{
	const struct lks_section *table = (const void *)((const char *)snap->buffer +
	                                                 sizeof(struct lks_header));
	bool in_order = true;
	uint32_t kind = 0;

	struct lks_header sealed = w->header;

	sealed.file_size = snap->size;
	sealed.checksum = snap->header.checksum;
	ok(!memcmp(&snap->header, &sealed, sizeof(sealed)) && snap->size % 8 == 0,
	   "the header as written, with the file's size (%zu)", snap->size);
	ok(!memcmp(&snap->counters, &w->counters, sizeof(w->counters)), "the counters as written");
#define NEXT_KIND(number, NAME, name, record) in_order &= table[kind++].kind == number;
	LKS_SECTIONS(NEXT_KIND)
#undef NEXT_KIND
	ok(in_order && snap->header.section_count == kind,
	   "%u sections, in format.h's order", snap->header.section_count);
	SAME(snap->modules, snap->module_count, w->modules);
	SAME(snap->traces, snap->trace_count, w->traces);
	SAME(snap->frames, snap->frame_count, w->frames);
	SAME(snap->sites, snap->site_count, w->sites);
	SAME(snap->handles, snap->handle_count, w->handles);
	SAME(snap->retainers, snap->retainer_count, w->steps);
	ok(!strcmp(snap_string(snap, snap->header.exe), "/bin/prog") &&
	   !strcmp(snap_string(snap, snap->header.label), "round-trip") &&
	   !strcmp(snap_string(snap, snap->modules[1].path), "/lib/libx.so") &&
	   !strcmp(snap_string(snap, snap->handles[2].description), "socket AF_INET 127.0.0.1:80"),
	   "strings found by their offsets");
}

int main(void)
{
	char dir[] = "/tmp/lks-roundtrip-XXXXXX", path[4096], name[64];
	struct written written;
	struct snapshot *snap = NULL;
	struct errmsg err = { 0 };

	if (!mkdtemp(dir))
		return 99;
	lks_process_remember(dir);
	snprintf(name, sizeof(name), ".%d.3.round-trip.lks", (int)getpid());
	ok(write_snapshot(&written, path, sizeof(path)) != NULL &&
	   strstr(path, name) && !strncmp(path, dir, strlen(dir)),
	   "the shim's writer stores the file as EXE.PID.SEQ.LABEL.lks in the output directory");
	if (!ok(snap_read_file(path, &snap, &err) == 0, "the reader accepts it"))
		diag("%s", err.text);
	else
		compare(snap, &written);
	snap_free(snap);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
