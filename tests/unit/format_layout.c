/* SPDX-License-Identifier: MIT */
/* Prints format.h as JSON (every record's fields with offset, size and
 * signedness, the section and reason numbers), so that a writer in another
 * language can be checked against the C definitions (check_lkswrite.py). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "format.h"

static const char *separator;

#define SIGNED(lvalue) \
	_Generic((lvalue), int8_t: 1, int16_t: 1, int32_t: 1, int64_t: 1, default: 0)
/* A scalar field, then a byte array (magic, build ids, reserved words). */
#define FIELD(type, field)                                                  \
	field_line(#field, offsetof(type, field), sizeof(((type *)0)->field),   \
	           SIGNED(((type *)0)->field) ? "signed" : "unsigned")
#define BYTES(type, field) \
	field_line(#field, offsetof(type, field), sizeof(((type *)0)->field), "bytes")

static void field_line(const char *name, size_t offset, size_t size, const char *kind)
{
	printf("%s\n    {\"name\": \"%s\", \"offset\": %zu, \"size\": %zu, \"kind\": \"%s\"}",
	       separator, name, offset, size, kind);
	separator = ",";
}

static void record_begin(const char *name, size_t size)
{
	printf("%s\n  \"%s\": {\"size\": %zu, \"fields\": [", separator, name, size);
	separator = "";
}

static void record_end(void)
{
	printf("]}");
	separator = ",";
}

static void records(void)
{
	record_begin("header", sizeof(struct lks_header));
	BYTES(struct lks_header, magic);
	FIELD(struct lks_header, version);
	FIELD(struct lks_header, header_size);
	FIELD(struct lks_header, section_count);
	FIELD(struct lks_header, reason);
	FIELD(struct lks_header, pid);
	FIELD(struct lks_header, ppid);
	FIELD(struct lks_header, seq);
	FIELD(struct lks_header, exit_status);
	FIELD(struct lks_header, time_ns);
	FIELD(struct lks_header, uptime_ns);
	FIELD(struct lks_header, exe);
	FIELD(struct lks_header, label);
	FIELD(struct lks_header, flags);
	FIELD(struct lks_header, max_depth);
	FIELD(struct lks_header, signal);
	FIELD(struct lks_header, reserved32);
	BYTES(struct lks_header, reserved);
	FIELD(struct lks_header, file_size);
	FIELD(struct lks_header, checksum);
	BYTES(struct lks_header, run_token);
	FIELD(struct lks_header, instance);
	FIELD(struct lks_header, start_ticks);
	record_end();
	record_begin("section", sizeof(struct lks_section));
	FIELD(struct lks_section, kind);
	FIELD(struct lks_section, record_size);
	FIELD(struct lks_section, offset);
	FIELD(struct lks_section, count);
	record_end();
	record_begin("counters", sizeof(struct lks_counters));
	FIELD(struct lks_counters, allocs);
	FIELD(struct lks_counters, frees);
	FIELD(struct lks_counters, live_blocks);
	FIELD(struct lks_counters, live_bytes);
	FIELD(struct lks_counters, tool_resident_bytes);
	FIELD(struct lks_counters, missed_allocs);
	FIELD(struct lks_counters, missed_stacks);
	FIELD(struct lks_counters, unknown_frees);
	FIELD(struct lks_counters, mismatched_frees);
	FIELD(struct lks_counters, bootstrap_allocs);
	FIELD(struct lks_counters, traces);
	FIELD(struct lks_counters, tool_bytes);
	FIELD(struct lks_counters, handles_open);
	record_end();
	record_begin("module", sizeof(struct lks_module));
	FIELD(struct lks_module, bias);
	FIELD(struct lks_module, start);
	FIELD(struct lks_module, end);
	FIELD(struct lks_module, path);
	FIELD(struct lks_module, flags);
	FIELD(struct lks_module, build_id_len);
	BYTES(struct lks_module, build_id);
	record_end();
	record_begin("trace", sizeof(struct lks_trace));
	FIELD(struct lks_trace, id);
	FIELD(struct lks_trace, depth);
	FIELD(struct lks_trace, first);
	record_end();
	record_begin("site", sizeof(struct lks_site));
	FIELD(struct lks_site, trace);
	FIELD(struct lks_site, klass);
	FIELD(struct lks_site, family);
	FIELD(struct lks_site, heuristic);
	FIELD(struct lks_site, apart);
	FIELD(struct lks_site, blocks);
	FIELD(struct lks_site, bytes);
	FIELD(struct lks_site, indirect_blocks);
	FIELD(struct lks_site, indirect_bytes);
	FIELD(struct lks_site, largest);
	FIELD(struct lks_site, oldest_seq);
	FIELD(struct lks_site, reserved2);
	record_end();
	record_begin("handle", sizeof(struct lks_handle));
	FIELD(struct lks_handle, fd);
	FIELD(struct lks_handle, type);
	FIELD(struct lks_handle, flags);
	FIELD(struct lks_handle, trace);
	FIELD(struct lks_handle, description);
	FIELD(struct lks_handle, addr);
	FIELD(struct lks_handle, size);
	record_end();
}

static void numbers(void)
{
	printf(",\n  \"sections\": {");
	separator = "";
#define SECTION_NUMBER(number, NAME, name, record)                        \
	printf("%s\"%s\": %d", separator, #NAME, number), separator = ", ";
	LKS_SECTIONS(SECTION_NUMBER)
#undef SECTION_NUMBER
	printf("},\n  \"reasons\": {");
	separator = "";
#define REASON_NUMBER(number, NAME, name) \
	printf("%s\"%s\": %d", separator, #NAME, number), separator = ", ";
	LKS_REASONS(REASON_NUMBER)
#undef REASON_NUMBER
	printf("},\n  \"constants\": {\"MAGIC\": [");
	for (int i = 0; i < LKS_MAGIC_LEN; i++)
		printf("%s%d", i ? ", " : "", (unsigned char)LKS_MAGIC[i]);
	printf("], \"VERSION\": %d, \"MODULE_MAIN\": %u, \"HANDLE_SOCKET\": %d}",
	       LKS_VERSION, LKS_MF_MAIN, LKS_HANDLE_SOCKET);
}

int main(void)
{
	_Static_assert(sizeof(LKS_MAGIC) - 1 == LKS_MAGIC_LEN, "magic length");
	printf("{");
	separator = "";
	records();
	numbers();
	printf("\n}\n");
	return 0;
}
