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
#include "snapwalk.h"

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
		walked += snap_walk(snap);
		snap_free(snap);
	} else if (strncmp(err.text, "fuzz.lks: ", 10) != 0 || strchr(err.text, '\n')) {
		abort();  /* every rejection is one line naming the file */
	}
	free(copy);
	return 0;
}
