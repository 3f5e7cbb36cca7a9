/* SPDX-License-Identifier: MIT */
/* A snapshot file made in memory from records, laid out and sealed as the
 * shim's writer lays them out (every section of format.h's list, back to
 * back, padded to 8 bytes; the size and checksum in the header), for the
 * tests that need a file the reader accepts without running the shim. */
#ifndef LEAKSCOPE_TEST_SNAPBUILD_H
#define LEAKSCOPE_TEST_SNAPBUILD_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "format.h"

/* The records of one section kind (by its number in format.h); a kind
 * left zero is written empty. */
struct snapbuild_part {
	const void *records;
	uint64_t count;
};

enum {
#define SNAPBUILD_KIND(number, NAME, name, record) SNAPBUILD_KIND_##NAME = number,
	LKS_SECTIONS(SNAPBUILD_KIND)
#undef SNAPBUILD_KIND
	SNAPBUILD_KINDS = 0
#define SNAPBUILD_COUNT(number, NAME, name, record) + 1
	LKS_SECTIONS(SNAPBUILD_COUNT)
#undef SNAPBUILD_COUNT
};

/* `header` gives reason, pid, flags, max_depth...; magic, version, sizes,
 * the section count and the checksum are filled in. A malloc'd file of
 * *size bytes, or NULL. parts[kind] for kind 1..SNAPBUILD_KINDS. */
static inline uint8_t *snapbuild(const struct lks_header *header,
				 const struct snapbuild_part *parts, size_t *size)
{
	static const struct { uint32_t kind, record_size; } kinds[] = {
#define SNAPBUILD_INFO(number, NAME, name, record) { number, sizeof(record) },
		LKS_SECTIONS(SNAPBUILD_INFO)
#undef SNAPBUILD_INFO
	};
	struct lks_section table[SNAPBUILD_KINDS];
	uint64_t at = sizeof(*header) + sizeof(table);
	struct lks_header *out_header;
	uint8_t *file;

	for (int i = 0; i < SNAPBUILD_KINDS; i++) {
		uint64_t count = parts[kinds[i].kind].count;

		table[i] = (struct lks_section){ kinds[i].kind, kinds[i].record_size, at, count };
		at += (count * kinds[i].record_size + 7) & ~(uint64_t)7;
	}
	file = calloc(1, (size_t)at);
	if (!file)
		return NULL;
	memcpy(file, header, sizeof(*header));
	memcpy(file + sizeof(*header), table, sizeof(table));
	for (int i = 0; i < SNAPBUILD_KINDS; i++)
		if (table[i].count)
			memcpy(file + table[i].offset, parts[kinds[i].kind].records,
			       (size_t)(table[i].count * table[i].record_size));
	out_header = (struct lks_header *)(void *)file;
	memcpy(out_header->magic, LKS_MAGIC, LKS_MAGIC_LEN);
	out_header->version = LKS_VERSION;
	out_header->header_size = sizeof(*header);
	out_header->section_count = SNAPBUILD_KINDS;
	out_header->file_size = at;
	out_header->checksum = 0;
	out_header->checksum = lks_checksum_file(file, (size_t)at,
						 offsetof(struct lks_header, checksum));
	*size = (size_t)at;
	return file;
}

#endif
