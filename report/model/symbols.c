/* SPDX-License-Identifier: MIT */
/* The symbolizer of one process snapshot: its modules mapped to the shared
 * images (images.c) on first use, so only modules that appear in stacks are
 * opened and warned about; each distinct address expanded once per process,
 * and each link-time address once per image for every process of a report
 * (a build's tree runs the same shell and compilers hundreds of times). */
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrmemo.h"
#include "array.h"
#include "demangle.h"
#include "images.h"
#include "pool.h"
#include "scopes.h"
#include "snapread.h"
#include "symbols.h"
#include "symkeep.h"

/* A frame's inline chain longer than this is cut: real chains are short. */
#define MAX_INLINE_DEPTH 64

/* MODULE_KEPT: the object is not the one recorded, but the symbols kept
 * with the snapshot (symkeep.h) name its frames */
enum module_state { MODULE_UNTRIED, MODULE_READY, MODULE_KEPT, MODULE_UNUSABLE };

struct module {
	uint64_t start, end, bias;
	const char *path; /* pool */
	const struct lks_module *record;
	enum module_state state;
	struct image *image; /* MODULE_READY: addresses less bias go to it */
	const struct symkeep_module *kept; /* MODULE_KEPT */
};

struct symbolizer {
	struct pool *pool;

	struct module *modules; /* sorted by start, no overlaps */
	size_t module_count;
	struct symkeep *kept; /* NULL: none kept with the snapshot */

	struct addr_memo cache; /* by runtime address */

	const char **warnings;
	size_t warning_count, warning_capacity;
};

static int warn(struct symbolizer *sym, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int warn(struct symbolizer *sym, const char *fmt, ...)
{
	char text[600];
	const char *kept;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	kept = pool_intern(sym->pool, text);
	r = kept ? ARRAY_RESERVE(sym->warnings, sym->warning_capacity, sym->warning_count, 1)
		 : -ENOMEM;
	if (r < 0)
		return r;
	sym->warnings[sym->warning_count++] = kept;
	return 0;
}

/* ---- the module table ---- */

static int by_start(const void *a, const void *b)
{
	const struct module *x = a, *y = b;
	bool x_gone = x->record->flags & LKS_MF_UNLOADED;
	bool y_gone = y->record->flags & LKS_MF_UNLOADED;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (int)x_gone - (int)y_gone; /* loaded first at equal start */
}

/* Overlaps come from a dlclose'd object whose range was reused: the loaded
 * module wins, as its code is what the address means now. */
static size_t drop_overlaps(struct module *modules, size_t count)
{
	size_t kept = 0;

	for (size_t i = 0; i < count; i++) {
		struct module *last = kept ? &modules[kept - 1] : NULL;
		bool gone = modules[i].record->flags & LKS_MF_UNLOADED;

		if (modules[i].start == modules[i].end)
			continue;
		if (!last || modules[i].start >= last->end)
			modules[kept++] = modules[i];
		else if ((last->record->flags & LKS_MF_UNLOADED) && !gone)
			*last = modules[i];
	}
	return kept;
}

static int build_module_table(struct symbolizer *sym, const struct snapshot *snap)
{
	sym->modules = calloc(snap->module_count + 1, sizeof(*sym->modules));
	if (!sym->modules)
		return -ENOMEM;
	for (size_t i = 0; i < snap->module_count; i++) {
		const struct lks_module *rec = &snap->modules[i];
		struct module *m = &sym->modules[i];

		m->record = rec;
		m->start = rec->start;
		m->end = rec->end;
		m->bias = rec->bias;
		m->path = pool_intern(sym->pool, snap_string(snap, rec->path));
		if (!m->path)
			return -ENOMEM;
	}
	qsort(sym->modules, snap->module_count, sizeof(*sym->modules), by_start);
	sym->module_count = drop_overlaps(sym->modules, snap->module_count);
	return 0;
}

static struct module *find_module(struct symbolizer *sym, uint64_t address)
{
	size_t low = 0, high = sym->module_count;

	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (address < sym->modules[mid].start)
			high = mid;
		else if (address >= sym->modules[mid].end)
			low = mid + 1;
		else
			return &sym->modules[mid];
	}
	return NULL;
}

/* ---- opening a module ---- */

/* Each process that uses an unusable module says so in its own report,
 * and how its frames are shown: by the symbols kept with the snapshot, or
 * as module+offset. */
static int prepare_module(struct symbolizer *sym, struct module *m)
{
	const char *detail, *shown = "its frames are shown as module+offset";
	int error;

	m->state = MODULE_UNUSABLE;
	if (m->record->flags & (LKS_MF_SHIM | LKS_MF_VDSO))
		return 0;
	m->image = image_get(m->path, m->record);
	if (!m->image)
		return -ENOMEM;
	if (image_problem(m->image, &error, &detail) == IMAGE_USABLE) {
		m->state = MODULE_READY;
		return 0;
	}
	m->kept = symkeep_module(sym->kept, m->path, m->record);
	if (m->kept) {
		m->state = MODULE_KEPT;
		shown = "its frames are named from the symbols kept with the snapshot";
	}
	switch (image_problem(m->image, &error, &detail)) {
	case IMAGE_UNREADABLE:
		return warn(sym, "%s: cannot read: %s; %s", m->path, strerror(error), shown);
	case IMAGE_OTHER_BUILD:
		return warn(sym, "%s: build-id differs from the recorded one (rebuilt since the "
			    "run?); %s", m->path, shown);
	default:
		return warn(sym, "%s: %s; %s", m->path, detail, shown);
	}
}

/* ---- expanding one address ---- */

static int push_frame(struct symbolizer *sym, const struct model_frame *frame)
{
	return memo_push(&sym->cache, frame);
}

/* The images' copy of a symbol name, demangled when it is C++'s: a name
 * read from an image lives as long as the images (the image memo keeps
 * it for the next process). */
static const char *readable_name(const char *name)
{
	char *readable = demangle(name);
	const char *interned;

	if (!readable)
		return pool_intern(images_names(), name);
	interned = pool_intern(images_names(), readable);
	free(readable);
	return interned;
}

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name;

	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	if (!name)
		name = dwarf_formstring(
			dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	if (!name)
		name = dwarf_diename(die);
	return name;
}

/* An inlined instance has its function's line through its abstract
 * origin, which dwarf_decl_line follows. */
static uint32_t decl_line(Dwarf_Die *die)
{
	int line = 0;

	return dwarf_decl_line(die, &line) == 0 && line > 0 ? (uint32_t)line : 0;
}

struct place {
	const char *file; /* pool */
	uint32_t line;
};

/* Drops "." components and folds "dir/.." pairs, in place: the compiler
 * records paths as it was given them ("../src/x.c"). */
static void normalize_path(char *path)
{
	char *out = path, *in = path;

	while (*in) {
		char *end = strchrnul(in, '/');
		/* read before the copy below: its '/' may land on this NUL */
		bool last_component = *end == '\0';
		size_t len = (size_t)(end - in);
		char *last = out > path + 1 ? memrchr(path, '/', (size_t)(out - 1 - path)) : NULL;

		if (len == 1 && in[0] == '.') {
			/* skip */
		} else if (len == 2 && in[0] == '.' && in[1] == '.' && last &&
			   !(out - last == 4 && !strncmp(last + 1, "..", 2))) {
			out = last + 1;
		} else if (len || out == path) {
			memmove(out, in, len);
			out += len;
			*out++ = '/';
		}
		if (last_component)
			break;
		in = end + 1;
	}
	if (out > path + 1)
		out--;
	*out = '\0';
}

/* A source path as a user can open it: relative DWARF names are relative
 * to the compilation directory. Interned with the images' names. */
static const char *source_path(const char *file, const char *comp_dir)
{
	char joined[PATH_MAX];
	int n;

	if (file[0] == '/' || !comp_dir || comp_dir[0] != '/')
		return pool_intern(images_names(), file);
	n = snprintf(joined, sizeof(joined), "%s/%s", comp_dir, file);
	if (n < 0 || (size_t)n >= sizeof(joined))
		return pool_intern(images_names(), file);
	normalize_path(joined);
	return pool_intern(images_names(), joined);
}

static const char *comp_dir_of(Dwarf_Die *cu)
{
	Dwarf_Attribute attr;

	return cu ? dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr)) : NULL;
}

/* libdwfl answers for an address past the end of every unit too (crt1's
 * _start, without line information, got the last line of the unit before
 * it): only a unit whose ranges hold pc is asked. */
static bool unit_covers(Dwfl_Module *mod, Dwarf_Addr pc)
{
	Dwarf_Addr bias;
	Dwarf_Die *cudie = dwfl_module_addrdie(mod, pc, &bias);

	return cudie && dwarf_haspc(cudie, pc - bias) > 0;
}

static int line_of(Dwfl_Module *mod, Dwarf_Addr pc,
		   struct place *place)
{
	Dwfl_Line *line = unit_covers(mod, pc) ? dwfl_module_getsrc(mod, pc) : NULL;
	const char *file;
	int lineno = 0;

	place->file = NULL;
	place->line = 0;
	if (!line)
		return 0;
	file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
	if (!file || lineno <= 0)
		return 0;
	place->file = source_path(file, dwfl_line_comp_dir(line));
	place->line = (uint32_t)lineno;
	return place->file ? 0 : -ENOMEM;
}

/* An inlined call's DW_AT_call_file/line: where, in its caller, it sits. */
static void call_site(Dwarf_Die *inlined,
		      Dwarf_Files *files, size_t file_count, const char *comp_dir,
		      struct place *place)
{
	Dwarf_Attribute attr;
	Dwarf_Word file_index = 0, line = 0;
	const char *file = NULL;

	if (files &&
	    dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &file_index) == 0 &&
	    file_index < file_count)
		file = dwarf_filesrc(files, file_index, NULL, NULL);
	if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &line) != 0)
		line = 0;
	place->file = file && line ? source_path(file, comp_dir) : NULL;
	place->line = place->file ? (uint32_t)line : 0;
}

/* Pushes one frame per inlined call and one for the function around them;
 * `*closed` tells whether that function was found, `*place` is its line. */
static int expand_scopes(struct symbolizer *sym, const struct model_frame *base,
			 Dwarf_Die *scopes, int count, Dwarf_Die *cu,
			 struct place *place, bool *closed)
{
	Dwarf_Files *files = NULL;
	size_t file_count = 0;
	int pushed = 0;

	*closed = false;
	if (count > 0 && dwarf_getsrcfiles(cu, &files, &file_count) != 0)
		files = NULL;
	for (int i = 0; i < count && pushed < MAX_INLINE_DEPTH; i++) {
		int tag = dwarf_tag(&scopes[i]);
		struct model_frame frame = *base;
		const char *name;

		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram &&
		    tag != DW_TAG_entry_point)
			continue;
		name = die_name(&scopes[i]);
		frame.function = name ? readable_name(name) : NULL;
		if (name && !frame.function)
			return -ENOMEM;
		frame.file = place->file;
		frame.line = place->line;
		frame.function_line = decl_line(&scopes[i]);
		frame.inlined = tag == DW_TAG_inlined_subroutine;
		if (push_frame(sym, &frame) < 0)
			return -ENOMEM;
		pushed++;
		if (!frame.inlined) {
			*closed = true;
			return 0;
		}
		call_site(&scopes[i], files, file_count, comp_dir_of(cu), place);
	}
	return 0;
}

/* Without DWARF (or a nameless DIE) the symbol table names the function. */
static int push_symbol_frame(struct symbolizer *sym, struct module *m,
			     const struct model_frame *base, Dwarf_Addr pc,
			     const struct place *place)
{
	struct model_frame frame = *base;
	struct symindex_hit hit;
	bool found;
	int r = image_symbol(m->image, pc, &hit, &found);

	if (r < 0)
		return r;
	frame.function = found ? readable_name(hit.name) : NULL;
	if (found && !frame.function)
		return -ENOMEM;
	frame.file = place->file;
	frame.line = place->line;
	return push_frame(sym, &frame);
}

/* Frames named elsewhere (the image's memo, the symbols kept with the
 * snapshot) pushed as this address's: its module, address and offset. */
static int push_as(struct symbolizer *sym, const struct model_frame *base,
		   const struct model_frame *named, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct model_frame frame = named[i];
		int r;

		frame.module = base->module;
		frame.address = base->address;
		frame.offset = base->offset;
		if ((r = push_frame(sym, &frame)) < 0)
			return r;
	}
	return 0;
}

/* Expands pc afresh: one frame per inlined call, then the function. */
static int expand_with_dwarf(struct symbolizer *sym, struct module *m,
			     const struct model_frame *base, Dwarf_Addr pc)
{
	Dwfl_Module *mod = image_module(m->image);
	struct addr_memo *cache = &sym->cache;
	struct place place;
	Dwarf_Die *scopes, cu;
	bool closed;
	int count, r;

	r = line_of(mod, pc, &place);
	if (r < 0)
		return r;
	count = scopes_at(mod, pc, &scopes, &cu);
	r = expand_scopes(sym, base, scopes, count, &cu, &place, &closed);
	free(scopes);
	if (r < 0)
		return r;
	if (closed && cache->frames[cache->frame_count - 1].function)
		return 0;
	if (closed)
		cache->frame_count--;
	return push_symbol_frame(sym, m, base, pc, &place);
}

/* The image's memo answers for every process after the first that ran
 * the same object: only the module, address and offset are this one's. */
static int expand_in_module(struct symbolizer *sym, struct module *m,
			    const struct model_frame *base)
{
	/* a return address points after the call: its line is at pc - 1;
	 * the image is at its link-time addresses */
	Dwarf_Addr pc = base->address - m->bias - 1;
	struct addr_memo *memo = image_memo(m->image);
	const struct model_frame *known;
	size_t count, first = sym->cache.frame_count, kept = memo->frame_count;
	int r;

	if (memo_find(memo, pc, &known, &count))
		return push_as(sym, base, known, count);
	if ((r = expand_with_dwarf(sym, m, base, pc)) < 0)
		return r;
	for (size_t i = first; i < sym->cache.frame_count; i++)
		if ((r = memo_push(memo, &sym->cache.frames[i])) < 0)
			return r;
	return memo_remember(memo, pc, kept);
}

/* The frames kept for the address, where it is now as recorded. */
static int expand_kept(struct symbolizer *sym, struct module *m,
		       const struct model_frame *base)
{
	const struct model_frame *kept;
	size_t count;

	if (!symkeep_frames(m->kept, base->address, &kept, &count) || count == 0)
		return push_frame(sym, base);
	return push_as(sym, base, kept, count);
}

static int expand(struct symbolizer *sym, uint64_t address)
{
	struct module *m = address ? find_module(sym, address) : NULL;
	struct model_frame base = { .address = address, .offset = address };
	int r;

	if (!m)
		return push_frame(sym, &base);
	base.module = m->path;
	base.offset = address - m->bias;
	if (m->state == MODULE_UNTRIED) {
		r = prepare_module(sym, m);
		if (r < 0)
			return r;
	}
	if (m->state == MODULE_KEPT)
		return expand_kept(sym, m, &base);
	if (m->state != MODULE_READY)
		return push_frame(sym, &base);
	return expand_in_module(sym, m, &base);
}

/* ---- the per-address cache ---- */

int sym_lookup(struct symbolizer *sym, uint64_t address,
	       const struct model_frame **frames, size_t *count)
{
	size_t first = sym->cache.frame_count;
	int r;

	if (!memo_find(&sym->cache, address, frames, count)) {
		if ((r = expand(sym, address)) < 0 ||
		    (r = memo_remember(&sym->cache, address, first)) < 0)
			return r;
		memo_find(&sym->cache, address, frames, count);
	}
	return 0;
}

/* ---- data addresses (retainer roots) ---- */

int sym_data(struct symbolizer *sym, uint64_t address, const char **symbol,
	     uint64_t *symbol_offset, const char **module)
{
	struct module *m = find_module(sym, address);
	struct symindex_hit hit;
	bool found;
	int r;

	*symbol = *module = NULL;
	*symbol_offset = 0;
	if (!m)
		return 0;
	*module = m->path;
	if (m->state == MODULE_UNTRIED && (r = prepare_module(sym, m)) < 0)
		return r;
	if (m->state == MODULE_KEPT) {
		symkeep_data(m->kept, address, symbol, symbol_offset);
		return 0;
	}
	if (m->state != MODULE_READY)
		return 0;
	/* the symbol whose extent holds the address: a variable, not code */
	r = image_symbol(m->image, address - m->bias, &hit, &found);
	if (r < 0 || !found || hit.function || hit.offset >= (hit.size ? hit.size : 1))
		return r;
	*symbol = readable_name(hit.name);
	*symbol_offset = hit.offset;
	return *symbol ? 0 : -ENOMEM;
}

/* ---- lifetime ---- */

int sym_open(const struct snapshot *snap, struct pool *pool,
	     struct symbolizer **out, struct errmsg *err)
{
	struct symbolizer *sym = calloc(1, sizeof(*sym));
	struct errmsg kept_error = { "" };

	if (!sym)
		goto oom;
	sym->pool = pool;
	if (build_module_table(sym, snap) < 0)
		goto oom;
	if (symkeep_read(snap, pool, &sym->kept, &kept_error) < 0 &&
	    warn(sym, "%s", kept_error.text) < 0)
		goto oom;
	*out = sym;
	return 0;
oom:
	errmsg_set(err, "out of memory");
	sym_close(sym);
	return -ENOMEM;
}

void sym_close(struct symbolizer *sym)
{
	if (!sym)
		return;
	free(sym->modules);
	memo_release(&sym->cache);
	free(sym->warnings);
	free(sym);
}

const struct lks_module *sym_module_of(struct symbolizer *sym, uint64_t address)
{
	struct module *m = find_module(sym, address);

	return m ? m->record : NULL;
}

const char *const *sym_warnings(const struct symbolizer *sym, size_t *count)
{
	*count = sym->warning_count;
	return sym->warnings;
}
