/* SPDX-License-Identifier: MIT */
/* Writing the symbols kept beside a snapshot (symkeep.h): every return
 * address of its stacks and retainers and every data address of its
 * retainers, symbolized now, while the objects are still the ones that
 * ran, grouped by module. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "jsonw.h"
#include "pool.h"
#include "snapread.h"
#include "symbols.h"
#include "symkeep.h"

/* One address to keep, and the module it is in. */
struct kept_address {
	size_t module;   /* index in snap->modules */
	bool data;       /* a retainer's root word, not a return address */
	uint64_t address;
};

struct writing {
	const struct snapshot *snap;
	struct symbolizer *sym;
	struct kept_address *addresses;
	size_t count;
};

static int by_module_kind_address(const void *a, const void *b)
{
	const struct kept_address *x = a, *y = b;

	if (x->module != y->module)
		return x->module < y->module ? -1 : 1;
	if (x->data != y->data)
		return x->data ? 1 : -1;
	return x->address < y->address ? -1 : x->address > y->address;
}

static void add(struct writing *w, uint64_t address, bool data)
{
	const struct lks_module *record = address ? sym_module_of(w->sym, address) : NULL;

	if (record)
		w->addresses[w->count++] = (struct kept_address){
			(size_t)(record - w->snap->modules), data, address };
}

/* Every address once, in module order. */
static int collect(struct writing *w)
{
	const struct snapshot *snap = w->snap;
	size_t kept = 0;

	w->addresses = calloc(snap->frame_count + snap->retainer_count + 1,
			      sizeof(*w->addresses));
	if (!w->addresses)
		return -ENOMEM;
	for (size_t i = 0; i < snap->frame_count; i++)
		add(w, snap->frames[i], false);
	for (size_t i = 0; i < snap->retainer_count; i++) {
		const struct lks_retainer_step *step = &snap->retainers[i];

		if (step->kind == LKS_RK_STACK)
			add(w, step->frame_ip, false);
		else if (step->kind == LKS_RK_GLOBAL)
			add(w, step->addr, true);
	}
	if (w->count)
		qsort(w->addresses, w->count, sizeof(*w->addresses), by_module_kind_address);
	for (size_t i = 0; i < w->count; i++)
		if (!kept || by_module_kind_address(&w->addresses[kept - 1], &w->addresses[i]))
			w->addresses[kept++] = w->addresses[i];
	w->count = kept;
	return 0;
}

static bool named(const struct model_frame *frames, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (frames[i].function || frames[i].file)
			return true;
	return false;
}

static void put_code(struct json *j, struct writing *w, uint64_t address)
{
	const struct model_frame *frames;
	size_t count;

	if (sym_lookup(w->sym, address, &frames, &count) < 0 || !named(frames, count))
		return;
	jw_open(j, NULL, '{');
	jw_hex(j, "address", address);
	jw_open(j, "frames", '[');
	for (size_t i = 0; i < count; i++) {
		jw_open(j, NULL, '{');
		jw_str(j, "function", frames[i].function);
		jw_str(j, "file", frames[i].file);
		jw_uint(j, "line", frames[i].line);
		jw_uint(j, "function_line", frames[i].function_line);
		jw_bool(j, "inlined", frames[i].inlined);
		jw_close(j, '}');
	}
	jw_close(j, ']');
	jw_close(j, '}');
}

static void put_data(struct json *j, struct writing *w, uint64_t address)
{
	const char *symbol, *module;
	uint64_t offset;

	if (sym_data(w->sym, address, &symbol, &offset, &module) < 0 || !symbol)
		return;
	jw_open(j, NULL, '{');
	jw_hex(j, "address", address);
	jw_str(j, "symbol", symbol);
	jw_uint(j, "offset", offset);
	jw_close(j, '}');
}

static void put_build_id(struct json *j, const struct lks_module *record)
{
	char hex[2 * LKS_BUILD_ID_MAX + 1] = "";

	for (uint32_t i = 0; i < record->build_id_len && i < LKS_BUILD_ID_MAX; i++)
		snprintf(hex + 2 * i, 3, "%02x", record->build_id[i]);
	jw_str(j, "build_id", hex);
}

/* The addresses of one module, addresses[first..end). */
static void put_module(struct json *j, struct writing *w, size_t first, size_t end)
{
	const struct lks_module *record = &w->snap->modules[w->addresses[first].module];

	jw_open(j, NULL, '{');
	jw_str(j, "path", snap_string(w->snap, record->path));
	put_build_id(j, record);
	jw_open(j, "code", '[');
	for (size_t i = first; i < end && !w->addresses[i].data; i++)
		put_code(j, w, w->addresses[i].address);
	jw_close(j, ']');
	jw_open(j, "data", '[');
	for (size_t i = first; i < end; i++)
		if (w->addresses[i].data)
			put_data(j, w, w->addresses[i].address);
	jw_close(j, ']');
	jw_close(j, '}');
}

static int write_kept(FILE *out, const void *what)
{
	struct writing *w = (struct writing *)what;
	struct json j = { .out = out, .first = true, .depth = 1 };
	char time_ns[32];

	snprintf(time_ns, sizeof(time_ns), "%" PRIu64, w->snap->header.time_ns);
	fputc('{', out);
	jw_uint(&j, "leakscope_symbols", SYMKEEP_VERSION);
	jw_int(&j, "pid", w->snap->header.pid);
	jw_uint(&j, "seq", w->snap->header.seq);
	jw_str(&j, "time_ns", time_ns);
	jw_open(&j, "modules", '[');
	for (size_t first = 0, end; first < w->count; first = end) {
		for (end = first; end < w->count &&
				  w->addresses[end].module == w->addresses[first].module; end++)
			;
		put_module(&j, w, first, end);
	}
	jw_close(&j, ']');
	jw_close(&j, '}');
	fputc('\n', out);
	if (fflush(out) != 0 || ferror(out))
		return -(errno ? errno : EIO);
	return 0;
}

int symkeep_write(const struct snapshot *snap, struct errmsg *err)
{
	struct writing w = { .snap = snap };
	struct pool *pool = pool_new();
	char *path = NULL;
	int r = pool ? sym_open(snap, pool, &w.sym, err) : -ENOMEM;

	if (r == 0 && (r = collect(&w)) == 0) {
		if (asprintf(&path, "%s" SYMKEEP_SUFFIX, snap->name) < 0)
			r = -ENOMEM;
		else
			r = emit_private(&(struct emit_output){ path, NULL, write_kept, &w }, err);
	}
	if (r == -ENOMEM)
		errmsg_set(err, "%s: keeping its symbols: out of memory", snap->name);
	free(path);
	free(w.addresses);
	if (w.sym)
		sym_close(w.sym);
	pool_free(pool);
	return r;
}
