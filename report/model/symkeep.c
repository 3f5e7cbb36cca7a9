/* SPDX-License-Identifier: MIT */
/* Reading the symbols kept beside a snapshot (symkeep.h), checked as any
 * input is: a file that is not what symkeep_write.c writes, or belongs to
 * another snapshot, is refused with a reason, never half used. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonread.h"
#include "pool.h"
#include "readfile.h"
#include "snapread.h"
#include "symkeep.h"

/* Kept symbols of a snapshot of at most 4 GiB are far smaller than this. */
#define MAX_KEPT_SIZE (UINT64_C(1) << 30)

struct kept_code {
	uint64_t address;
	struct model_frame *frames;
	size_t count;
};

struct kept_data {
	uint64_t address;
	const char *symbol;
	uint64_t offset;
};

struct symkeep_module {
	const char *path;
	uint32_t build_id_len;
	uint8_t build_id[LKS_BUILD_ID_MAX];
	struct kept_code *code; /* sorted by address */
	size_t code_count;
	struct kept_data *data; /* sorted by address */
	size_t data_count;
};

struct symkeep {
	struct symkeep_module *modules;
	size_t count;
};

/* What is being read, for the messages. */
struct reading {
	const char *path;
	struct pool *pool;
	struct errmsg *err;
};

#define invalid(rd, fmt, ...) \
	errmsg_invalid((rd)->err, "%s: " fmt "; its symbols are not used", (rd)->path, \
		       ##__VA_ARGS__)

static const struct json_value *typed(const struct json_value *object, const char *key,
				      enum json_type type)
{
	const struct json_value *value = json_member(object, key);

	return value && value->type == type ? value : NULL;
}

/* A string member interned in the pool: NULL for a JSON null or none;
 * -ENOMEM only when interning fails. */
static int text(struct reading *rd, const struct json_value *object, const char *key,
		const char **out)
{
	const struct json_value *value = typed(object, key, JSON_STRING);

	*out = value ? pool_intern(rd->pool, value->string) : NULL;
	return value && !*out ? -ENOMEM : 0;
}

static uint32_t small_number(const struct json_value *object, const char *key)
{
	const struct json_value *value = typed(object, key, JSON_NUMBER);

	return value && value->number >= 1 && value->number <= UINT32_MAX
		       ? (uint32_t)value->number : 0;
}

/* "0x..." as symkeep_write.c writes an address; false when it is not. */
static bool hex_member(const struct json_value *object, const char *key, uint64_t *out)
{
	const struct json_value *value = typed(object, key, JSON_STRING);
	char *end;

	if (!value || strncmp(value->string, "0x", 2) != 0 || !value->string[2] ||
	    strlen(value->string) > 18)
		return false;
	errno = 0;
	*out = strtoull(value->string + 2, &end, 16);
	return errno == 0 && *end == '\0';
}

static int read_frames(struct reading *rd, const struct json_value *list,
		       struct kept_code *code)
{
	code->count = list->count;
	code->frames = pool_alloc(rd->pool, (list->count + 1) * sizeof(*code->frames));
	if (!code->frames)
		return -ENOMEM;
	for (size_t i = 0; i < list->count; i++) {
		const struct json_value *frame = &list->items[i];
		const struct json_value *inlined = typed(frame, "inlined", JSON_BOOL);
		struct model_frame *f = &code->frames[i];
		int r;

		if (frame->type != JSON_OBJECT)
			return invalid(rd, "a frame that is not an object");
		if ((r = text(rd, frame, "function", &f->function)) < 0 ||
		    (r = text(rd, frame, "file", &f->file)) < 0)
			return r;
		f->line = f->file ? small_number(frame, "line") : 0;
		f->function_line = small_number(frame, "function_line");
		f->inlined = inlined && inlined->boolean;
	}
	return 0;
}

static int by_code_address(const void *a, const void *b)
{
	uint64_t x = ((const struct kept_code *)a)->address;
	uint64_t y = ((const struct kept_code *)b)->address;

	return x < y ? -1 : x > y;
}

static int by_data_address(const void *a, const void *b)
{
	uint64_t x = ((const struct kept_data *)a)->address;
	uint64_t y = ((const struct kept_data *)b)->address;

	return x < y ? -1 : x > y;
}

static int read_code(struct reading *rd, const struct json_value *list,
		     struct symkeep_module *m)
{
	m->code_count = list->count;
	m->code = pool_alloc(rd->pool, (list->count + 1) * sizeof(*m->code));
	if (!m->code)
		return -ENOMEM;
	for (size_t i = 0; i < list->count; i++) {
		const struct json_value *frames = typed(&list->items[i], "frames", JSON_ARRAY);
		int r;

		if (!hex_member(&list->items[i], "address", &m->code[i].address) || !frames)
			return invalid(rd, "a code entry without \"address\" and \"frames\"");
		if ((r = read_frames(rd, frames, &m->code[i])) < 0)
			return r;
	}
	qsort(m->code, m->code_count, sizeof(*m->code), by_code_address);
	return 0;
}

static int read_data(struct reading *rd, const struct json_value *list,
		     struct symkeep_module *m)
{
	m->data_count = list->count;
	m->data = pool_alloc(rd->pool, (list->count + 1) * sizeof(*m->data));
	if (!m->data)
		return -ENOMEM;
	for (size_t i = 0; i < list->count; i++) {
		const struct json_value *entry = &list->items[i];
		const struct json_value *offset = typed(entry, "offset", JSON_NUMBER);
		int r;

		if (!hex_member(entry, "address", &m->data[i].address) || !offset ||
		    offset->number < 0 || offset->number > (double)UINT32_MAX)
			return invalid(rd, "a data entry without \"address\" and \"offset\"");
		if ((r = text(rd, entry, "symbol", &m->data[i].symbol)) < 0)
			return r;
		if (!m->data[i].symbol)
			return invalid(rd, "a data entry without \"symbol\"");
		m->data[i].offset = (uint64_t)offset->number;
	}
	qsort(m->data, m->data_count, sizeof(*m->data), by_data_address);
	return 0;
}

static bool parse_build_id(const char *hex, struct symkeep_module *m)
{
	size_t len = strlen(hex);

	if (len % 2 || len / 2 > LKS_BUILD_ID_MAX)
		return false;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned byte;

		if (sscanf(hex + 2 * i, "%2x", &byte) != 1 || !strchr("0123456789abcdef", hex[2 * i]) ||
		    !strchr("0123456789abcdef", hex[2 * i + 1]))
			return false;
		m->build_id[i] = (uint8_t)byte;
	}
	m->build_id_len = (uint32_t)(len / 2);
	return true;
}

static int read_module(struct reading *rd, const struct json_value *object,
		       struct symkeep_module *m)
{
	const struct json_value *build_id = typed(object, "build_id", JSON_STRING);
	const struct json_value *code = typed(object, "code", JSON_ARRAY);
	const struct json_value *data = typed(object, "data", JSON_ARRAY);
	int r = text(rd, object, "path", &m->path);

	if (r < 0)
		return r;
	if (!m->path || !build_id || !parse_build_id(build_id->string, m) || !code || !data)
		return invalid(rd, "a module without \"path\", \"build_id\", \"code\" and \"data\"");
	r = read_code(rd, code, m);
	return r < 0 ? r : read_data(rd, data, m);
}

/* The file must say it is kept symbols, and of this very snapshot. */
static int check_owner(struct reading *rd, const struct json_value *root,
		       const struct snapshot *snap)
{
	const struct json_value *version = typed(root, "leakscope_symbols", JSON_NUMBER);
	const struct json_value *pid = typed(root, "pid", JSON_NUMBER);
	const struct json_value *seq = typed(root, "seq", JSON_NUMBER);
	const struct json_value *time_ns = typed(root, "time_ns", JSON_STRING);
	char expected[32];

	if (!version)
		return invalid(rd, "not kept symbols (no \"leakscope_symbols\")");
	if (version->number != SYMKEEP_VERSION)
		return invalid(rd, "kept symbols of version %.17g (this leakscope reads %d)",
			       version->number, SYMKEEP_VERSION);
	snprintf(expected, sizeof(expected), "%" PRIu64, snap->header.time_ns);
	if (!pid || !seq || !time_ns || pid->number != snap->header.pid ||
	    seq->number != snap->header.seq || strcmp(time_ns->string, expected) != 0)
		return invalid(rd, "kept for another snapshot (pid, seq or time differ)");
	return 0;
}

static int read_kept(struct reading *rd, const struct json_value *root,
		     const struct snapshot *snap, struct symkeep *kept)
{
	const struct json_value *modules = typed(root, "modules", JSON_ARRAY);
	int r = check_owner(rd, root, snap);

	if (r < 0)
		return r;
	if (!modules)
		return invalid(rd, "no \"modules\" list");
	kept->count = modules->count;
	kept->modules = pool_alloc(rd->pool, (modules->count + 1) * sizeof(*kept->modules));
	if (!kept->modules)
		return -ENOMEM;
	for (size_t i = 0; r == 0 && i < modules->count; i++)
		r = read_module(rd, &modules->items[i], &kept->modules[i]);
	return r;
}

static int parse(struct reading *rd, const char *text, size_t size,
		 const struct snapshot *snap, struct symkeep **out)
{
	struct pool *scratch = pool_new();
	const struct json_value *root;
	struct symkeep *kept = pool_alloc(rd->pool, sizeof(*kept));
	int r = scratch && kept ? json_parse(text, size, rd->path, scratch, &root, rd->err)
				: -ENOMEM;

	if (r == 0)
		r = read_kept(rd, root, snap, kept);
	if (r == 0)
		*out = kept;
	pool_free(scratch);
	return r;
}

int symkeep_read(const struct snapshot *snap, struct pool *pool, struct symkeep **out,
		 struct errmsg *err)
{
	struct reading rd = { .pool = pool, .err = err };
	char *path = NULL, *text = NULL;
	size_t size = 0;
	int r;

	*out = NULL;
	if (asprintf(&path, "%s" SYMKEEP_SUFFIX, snap->name) < 0)
		return -ENOMEM;
	rd.path = path;
	r = read_whole_file(path, MAX_KEPT_SIZE, &text, &size);
	if (r == -ENOENT)
		r = 0;  /* none kept: the usual case for a plain LD_PRELOAD run */
	else if (r == -EINVAL || r == -EFBIG)
		r = invalid(&rd, "not a regular file of at most 1 GiB");
	else if (r < 0)
		errmsg_set(err, "%s: %s; its symbols are not used", path, strerror(-r));
	else
		r = parse(&rd, text, size, snap, out);
	if (r == -ENOMEM)
		errmsg_set(err, "%s: out of memory; its symbols are not used", path);
	free(text);
	free(path);
	return r;
}

const struct symkeep_module *symkeep_module(const struct symkeep *kept, const char *path,
					    const struct lks_module *record)
{
	for (size_t i = 0; kept && i < kept->count; i++) {
		const struct symkeep_module *m = &kept->modules[i];

		if (m->build_id_len == record->build_id_len &&
		    memcmp(m->build_id, record->build_id, m->build_id_len) == 0 &&
		    strcmp(m->path, path) == 0)
			return m;
	}
	return NULL;
}

bool symkeep_frames(const struct symkeep_module *module, uint64_t address,
		    const struct model_frame **frames, size_t *count)
{
	struct kept_code wanted = { .address = address };
	const struct kept_code *found = module->code_count
		? bsearch(&wanted, module->code, module->code_count, sizeof(wanted),
			  by_code_address) : NULL;

	if (!found)
		return false;
	*frames = found->frames;
	*count = found->count;
	return true;
}

bool symkeep_data(const struct symkeep_module *module, uint64_t address,
		  const char **symbol, uint64_t *offset)
{
	struct kept_data wanted = { .address = address };
	const struct kept_data *found = module->data_count
		? bsearch(&wanted, module->data, module->data_count, sizeof(wanted),
			  by_data_address) : NULL;

	if (!found)
		return false;
	*symbol = found->symbol;
	*offset = found->offset;
	return true;
}
