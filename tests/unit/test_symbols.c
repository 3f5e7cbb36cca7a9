/* SPDX-License-Identifier: MIT */
/* The symbolizer on this very program: return addresses taken in symtarget.c
 * and symtarget_cxx.cpp (built -O2 -g) must come back as the function, file
 * and line marked in those sources, with the inlined call as its own frame
 * and the C++ name demangled; a rebuilt or missing module gives a warning
 * and module+offset frames. The snapshot describing this process is made
 * here, in memory. Usage: test_symbols SYMTARGET.C SYMTARGET_CXX.CPP (TAP) */
#include <elf.h>
#include <link.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demangle.h"
#include "pool.h"
#include "snapread.h"
#include "symbols.h"
#include "snapbuild.h"
#include "symtarget.h"
#include "tap.h"

#define MAX_MODULES 4

extern char _start[];  /* crt1.o's entry point: a symbol, no DWARF */
int g_symbols_table[4] = { 1, 2, 3, 4 };  /* a global for sym_data */
#define STRINGS_MAX 8192

/* ---- a snapshot of this process, made in memory ---- */

static uint32_t add_string(char *strings, size_t *used, const char *text)
{
	uint32_t offset = (uint32_t)*used;

	memcpy(strings + *used, text, strlen(text) + 1);
	*used += strlen(text) + 1;
	return offset;
}

/* The module records and their paths become a snapshot the reader accepts. */
static struct snapshot *make_snapshot(const struct lks_module *modules,
				      const char *const *paths, size_t count)
{
	static char strings[STRINGS_MAX];
	struct lks_header header = { .reason = LKS_REASON_EXIT, .max_depth = 64 };
	struct lks_counters counters = { 0 };
	struct lks_module records[MAX_MODULES];
	struct snapbuild_part parts[SNAPBUILD_KINDS + 1] = { 0 };
	struct snapshot *snap = NULL;
	struct errmsg err;
	size_t used = 1, size;
	uint8_t *file;

	memset(strings, 0, sizeof(strings));
	for (size_t i = 0; i < count; i++) {
		records[i] = modules[i];
		records[i].path = add_string(strings, &used, paths[i]);
	}
	parts[LKS_SEC_STRINGS] = (struct snapbuild_part){ strings, used };
	parts[LKS_SEC_COUNTERS] = (struct snapbuild_part){ &counters, 1 };
	parts[LKS_SEC_MODULES] = (struct snapbuild_part){ records, count };
	file = snapbuild(&header, parts, &size);
	if (!file || snap_parse(file, size, "self.lks", &snap, &err) < 0) {
		diag("%s", file ? err.text : "out of memory");
		snap = NULL;
	}
	free(file);
	return snap;
}

struct self_image {
	char path[PATH_MAX];
	struct lks_module record;
};

static void read_build_id(const struct dl_phdr_info *info, struct lks_module *m)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const uint8_t *note = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		const uint8_t *end = note + ph->p_memsz;

		while (ph->p_type == PT_NOTE && note + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const void *)note;
			const uint8_t *desc = note + sizeof(*nh) + ((nh->n_namesz + 3) & ~3u);

			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_descsz <= LKS_BUILD_ID_MAX) {
				memcpy(m->build_id, desc, nh->n_descsz);
				m->build_id_len = nh->n_descsz;
				return;
			}
			note = desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
}

/* The first object dl_iterate_phdr gives is the executable. */
static int describe_main(struct dl_phdr_info *info, size_t size, void *data)
{
	struct lks_module *m = data;

	m->bias = info->dlpi_addr;
	m->start = UINT64_MAX;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + ph->p_vaddr < m->start)
			m->start = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > m->end)
			m->end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	m->flags = LKS_MF_MAIN;
	read_build_id(info, m);
	return 1;
}

static int describe_self(struct self_image *self)
{
	ssize_t len = readlink("/proc/self/exe", self->path, sizeof(self->path) - 1);

	if (len <= 0)
		return -1;
	self->path[len] = '\0';
	memset(&self->record, 0, sizeof(self->record));
	dl_iterate_phdr(describe_main, &self->record);
	return self->record.build_id_len ? 0 : -1;
}

/* ---- expectations from the sources ---- */

/* The line of `source` that carries "mark: NAME", or 0. */
static uint32_t marked_line(const char *source, const char *name)
{
	char text[512], want[64];
	uint32_t line = 0, found = 0;
	FILE *in = fopen(source, "r");

	snprintf(want, sizeof(want), "mark: %s", name);
	while (in && fgets(text, sizeof(text), in)) {
		char *at = strstr(text, want);

		line++;
		/* whole word: "mark: plain" must not match "mark: plainer" */
		if (at && !found && (at[strlen(want)] == ' ' || at[strlen(want)] == '\n'))
			found = line;
	}
	if (in)
		fclose(in);
	return found;
}

static bool same_file(const char *a, const char *b)
{
	char real_a[PATH_MAX], real_b[PATH_MAX];

	return a && b && realpath(a, real_a) && realpath(b, real_b) &&
	       strcmp(real_a, real_b) == 0;
}

static bool frame_is(const struct model_frame *f, const char *function,
		     const char *source, uint32_t line, bool inlined)
{
	bool right = f->function && strcmp(f->function, function) == 0 &&
		     same_file(f->file, source) && f->line == line && f->inlined == inlined;

	if (!right)
		diag("got %s (%s:%u)%s, want %s (%s:%u)%s",
		     f->function ? f->function : "?", f->file ? f->file : "?", f->line,
		     f->inlined ? " [inlined]" : "", function, source, line,
		     inlined ? " [inlined]" : "");
	return right;
}

/* ---- the checks ---- */

struct context {
	struct self_image self;
	const char *c_source, *cxx_source;
};

static void check_self(const struct context *ctx, struct symbolizer *sym)
{
	const uint64_t bias = ctx->self.record.bias;
	const struct model_frame *frames;
	size_t count = 0;
	uint64_t ip;

	ip = (uintptr_t)symtarget_plain();
	ok(sym_lookup(sym, ip, &frames, &count) == 0 && count == 1 &&
	   frame_is(&frames[0], "symtarget_plain", ctx->c_source,
		    marked_line(ctx->c_source, "plain"), false),
	   "a plain call: function, file and line");
	ok(count == 1 && frames[0].module && same_file(frames[0].module, ctx->self.path) &&
	   frames[0].address == ip && frames[0].offset == ip - bias,
	   "its module is this program, offset = address - load bias");

	ip = (uintptr_t)symtarget_inlined();
	ok(sym_lookup(sym, ip, &frames, &count) == 0 && count == 2 &&
	   frame_is(&frames[0], "inlined_middle", ctx->c_source,
		    marked_line(ctx->c_source, "inside-inlined"), true),
	   "an inlined call: the inlined function first, at its own line");
	ok(count == 2 &&
	   frame_is(&frames[1], "symtarget_inlined", ctx->c_source,
		    marked_line(ctx->c_source, "calls-inlined"), false) &&
	   frames[1].address == ip,
	   "then the function it was inlined into, at the call's line");

	ip = (uintptr_t)symtarget_cxx();
	ok(sym_lookup(sym, ip, &frames, &count) == 0 && count == 1 &&
	   frame_is(&frames[0], "target::Widget::make(int)", ctx->cxx_source,
		    marked_line(ctx->cxx_source, "cxx"), false),
	   "a C++ function comes out demangled");

	if (sym_lookup(sym, (uintptr_t)_start + 0x10, &frames, &count) != 0)
		count = 0;
	ok(count == 1 && frames[0].function && strcmp(frames[0].function, "_start") == 0 &&
	   !frames[0].file,
	   "a function without DWARF is named from the symbol table: %s",
	   count && frames[0].function ? frames[0].function : "(none)");

	ok(sym_lookup(sym, 0x10, &frames, &count) == 0 && count == 1 &&
	   !frames[0].function && !frames[0].module && frames[0].offset == 0x10,
	   "an address in no module: one bare frame");
	{
		const char *symbol, *module;
		uint64_t offset;

		ok(sym_data(sym, (uintptr_t)&g_symbols_table[2], &symbol, &offset, &module) == 0 &&
		   symbol && strcmp(symbol, "g_symbols_table") == 0 && offset == 8 &&
		   module && same_file(module, ctx->self.path),
		   "a global's address: its symbol, the offset into it, its module");
	}
	ok(sym_lookup(sym, (uintptr_t)symtarget_plain(), &frames, &count) == 0 &&
	   count == 1 && frames[0].function && strcmp(frames[0].function, "symtarget_plain") == 0,
	   "a second lookup of an address gives the same frame");
}

/* Names as rustc (legacy mangling) and g++ write them. */
static void check_demangle(void)
{
	static const char *const cases[][2] = {
		{ "_ZN4leak8leak_box17haaa9b6c3c462a4fbE", "leak::leak_box" },
		{ "_ZN5alloc7raw_vec19RawVec$LT$T$C$A$GT$16with_capacity_in17h1abd6a79d2e0d14cE",
		  "alloc::raw_vec::RawVec<T,A>::with_capacity_in" },
		{ "_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h71acb6ed29efb28bE",
		  "std::rt::lang_start::{{closure}}" },
		{ "_ZN58_$LT$alloc..string..String$u20$as$u20$core..fmt..Debug$GT$3fmt17h0123456789abcdefE",
		  "<alloc::string::String as core::fmt::Debug>::fmt" },
		{ "_ZN6target6Widget4makeEi", "target::Widget::make(int)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *readable = demangle(cases[i][0]);

		ok(readable && strcmp(readable, cases[i][1]) == 0, "demangled %s: %s",
		   cases[i][1], readable ? readable : "(null)");
		free(readable);
	}
	ok(demangle("_RNvNtCs1234_4core3fmt5write") == NULL && demangle("malloc") == NULL,
	   "Rust v0 and C names are left as they are");
}

/* Opens a symbolizer for the given modules and looks up `address`; the
 * frame must be bare (module+offset) and one warning must contain `want`. */
static void check_unusable(const struct lks_module *module, const char *path,
			   uint64_t address, const char *want, const char *what)
{
	struct snapshot *snap = make_snapshot(module, &path, 1);
	struct pool *pool = pool_new();
	struct symbolizer *sym = NULL;
	const struct model_frame *frames;
	const char *const *warnings;
	size_t count = 0, warning_count = 0;
	struct errmsg err;

	if (!ok(snap && pool && sym_open(snap, pool, &sym, &err) == 0, "%s: opened", what))
		return;
	ok(sym_lookup(sym, address, &frames, &count) == 0 && count == 1 &&
	   !frames[0].function && frames[0].module && strcmp(frames[0].module, path) == 0 &&
	   frames[0].offset == address - module->bias,
	   "%s: the frame is module+offset", what);
	warnings = sym_warnings(sym, &warning_count);
	ok(warning_count == 1 && strstr(warnings[0], path) && strstr(warnings[0], want),
	   "%s: one warning: %s", what, warning_count ? warnings[0] : "(none)");
	sym_close(sym);
	pool_free(pool);
	snap_free(snap);
}

int main(int argc, char **argv)
{
	struct context ctx = { .c_source = argc > 1 ? argv[1] : "",
			       .cxx_source = argc > 2 ? argv[2] : "" };
	const char *path = ctx.self.path;
	struct snapshot *snap;
	struct symbolizer *sym = NULL;
	struct pool *pool = pool_new();
	struct lks_module other;
	struct errmsg err;

	/* only local files: no network lookup of the build-ids below */
	unsetenv("DEBUGINFOD_URLS");
	if (argc != 3 || !ok(describe_self(&ctx.self) == 0, "this program's load address and build-id"))
		return tap_done();
	snap = make_snapshot(&ctx.self.record, &path, 1);
	if (!ok(snap && pool && sym_open(snap, pool, &sym, &err) == 0, "symbolizer opened"))
		return tap_done();
	check_self(&ctx, sym);
	check_demangle();
	sym_close(sym);
	pool_free(pool);
	snap_free(snap);

	other = ctx.self.record;
	other.build_id[0] ^= 0xff;
	check_unusable(&other, ctx.self.path, (uintptr_t)symtarget_plain(),
		       "build-id differs", "a rebuilt binary");
	other = (struct lks_module){ .bias = 0x100000, .start = 0x100000, .end = 0x200000 };
	check_unusable(&other, "/nonexistent/libgone.so", 0x100800, "cannot read",
		       "a missing library");
	return tap_done();
}
