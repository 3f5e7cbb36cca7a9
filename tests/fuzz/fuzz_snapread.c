/* SPDX-License-Identifier: MIT */
/* A libFuzzer target of the snapshot reader (report/model/snapread.c and
 * snaprules.c). Each input is sealed first, its size and checksum written
 * into its header as a forger would write them, so that mutations reach
 * the checks behind the checksum; an accepted snapshot is then walked the
 * way the reporter walks it. Built and run by run_fuzz.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "snapread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void seal(uint8_t *bytes, size_t size)
{
	struct lks_header header;

	if (size < sizeof(header))
		return;
	memcpy(&header, bytes, sizeof(header));
	header.file_size = size;
	header.checksum = 0;
	memcpy(bytes, &header, sizeof(header));
	header.checksum = lks_checksum_file(bytes, size, offsetof(struct lks_header, checksum));
	memcpy(bytes, &header, sizeof(header));
}

/* Everything an accepted snapshot lets the reporter follow. */
static uint64_t walk(const struct snapshot *snap)
{
	uint64_t sum = strlen(snap_string(snap, snap->header.exe)) +
		       strlen(snap_string(snap, snap->header.label));

	for (size_t i = 0; i < snap->module_count; i++)
		sum += strlen(snap_string(snap, snap->modules[i].path));
	for (size_t i = 0; i < snap->site_count; i++) {
		const struct lks_trace *t = snap_trace(snap, snap->sites[i].trace);

		for (uint32_t d = 0; t && d < t->depth; d++)
			sum += snap->frames[t->first + d];
	}
	for (size_t i = 0; i < snap->handle_count; i++) {
		const struct lks_trace *t = snap_trace(snap, snap->handles[i].trace);

		sum += strlen(snap_string(snap, snap->handles[i].description));
		sum += t ? snap->frames[t->first + t->depth - 1] : 0;
	}
	for (size_t i = 0; i < snap->retainer_count; i++) {
		const struct lks_trace *t = snap_trace(snap, snap->retainers[i].trace);

		sum += t ? snap->frames[t->first] : 0;
	}
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static volatile uint64_t walked;
	uint8_t *copy = malloc(size + 1);
	struct snapshot *snap = NULL;
	struct errmsg err;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	seal(copy, size);
	if (snap_parse(copy, size, "fuzz.lks", &snap, &err) == 0) {
		walked += walk(snap);
		snap_free(snap);
	} else if (strncmp(err.text, "fuzz.lks: ", 10) != 0 || strchr(err.text, '\n')) {
		abort();  /* every rejection is one line naming the file */
	}
	free(copy);
	return 0;
}
