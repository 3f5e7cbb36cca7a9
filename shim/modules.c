/* SPDX-License-Identifier: MIT */
/* Loaded objects: the shim's own text range (to drop its frames), which
 * object's malloc wins, objects unloaded by dlclose (kept so their old
 * stacks still symbolize), and the module section of a snapshot with every
 * object's build-id. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>

#include "shim.h"

#define MAX_UNLOADED 1024
#define PATH_BYTES 512

struct module_info {
	struct lks_module record;
	char path[PATH_BYTES];
};

static uint64_t shim_start, shim_end;
static struct module_info *unloaded;  /* lks_map'd: MAX_UNLOADED entries */
static uint32_t unloaded_count;       /* atomic */
static __thread struct module_info closing
	__attribute__((tls_model("initial-exec")));
static __thread bool closing_known __attribute__((tls_model("initial-exec")));

static void copy_path(char *dst, const char *src)
{
	size_t len = strnlen(src, PATH_BYTES - 1);

	memcpy(dst, src, len);
	dst[len] = '\0';
}

static void read_build_id(const struct dl_phdr_info *info, const ElfW(Phdr) *note,
                          struct lks_module *record)
{
	const uint8_t *at = (const uint8_t *)(info->dlpi_addr + note->p_vaddr);
	const uint8_t *end = at + note->p_memsz;

	while (at + sizeof(ElfW(Nhdr)) <= end) {
		const ElfW(Nhdr) *header = (const ElfW(Nhdr) *)at;
		const uint8_t *name = at + sizeof(*header);
		const uint8_t *desc = name + ((header->n_namesz + 3) & ~3u);

		if (desc + header->n_descsz > end)
			return;
		if (header->n_type == NT_GNU_BUILD_ID && header->n_namesz == 4 &&
		    !memcmp(name, "GNU", 4) && header->n_descsz <= LKS_BUILD_ID_MAX) {
			record->build_id_len = header->n_descsz;
			memcpy(record->build_id, desc, header->n_descsz);
			return;
		}
		at = desc + ((header->n_descsz + 3) & ~3u);
	}
}

static void describe(const struct dl_phdr_info *info, struct module_info *out)
{
	memset(out, 0, sizeof(*out));
	out->record.bias = info->dlpi_addr;
	out->record.start = UINT64_MAX;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *phdr = &info->dlpi_phdr[i];
		uint64_t lo = info->dlpi_addr + phdr->p_vaddr;

		if (phdr->p_type == PT_LOAD) {
			if (lo < out->record.start)
				out->record.start = lo;
			if (lo + phdr->p_memsz > out->record.end)
				out->record.end = lo + phdr->p_memsz;
		} else if (phdr->p_type == PT_NOTE && !out->record.build_id_len) {
			read_build_id(info, phdr, &out->record);
		}
	}
	copy_path(out->path, info->dlpi_name ? info->dlpi_name : "");
}

static int find_shim(struct dl_phdr_info *info, size_t size, void *unused)
{
	struct module_info module;
	uint64_t self = (uint64_t)(uintptr_t)&find_shim;

	describe(info, &module);
	if (self >= module.record.start && self < module.record.end) {
		shim_start = module.record.start;
		shim_end = module.record.end;
		return 1;
	}
	return 0;
}

void lks_modules_init(void)
{
	dl_iterate_phdr(find_shim, NULL);
	unloaded = lks_map(MAX_UNLOADED * sizeof(*unloaded));
}

bool lks_in_shim(uint64_t ip)
{
	return ip >= shim_start && ip < shim_end;
}

/* A program that defines malloc itself (a statically linked jemalloc or
 * tcmalloc) comes before the preload in the lookup order: the calls go to
 * its malloc, never to ours, and a report would look clean. An executable
 * that only takes malloc's address has an undefined symbol whose value is
 * its PLT stub (the function's canonical address): dlsym returns that
 * stub, which still jumps to ours. */
bool lks_malloc_is_ours(const char **where)
{
	void *winner = dlsym(RTLD_DEFAULT, "malloc");
	const ElfW(Sym) *symbol = NULL;
	Dl_info info;

	*where = "";
	if (!winner || lks_in_shim((uint64_t)(uintptr_t)winner))
		return true;
	if (dladdr1(winner, &info, (void **)&symbol, RTLD_DL_SYMENT) == 0 || !symbol)
		return false;
	*where = info.dli_fname && info.dli_fname[0] ? info.dli_fname : lks_exe_path();
	return symbol->st_shndx == SHN_UNDEF;
}

/* Whether the malloc the shim forwards to and the malloc_usable_size it
 * would ask are of one object: only then may the shim ask the size of a
 * block libc allocated through it (an allocator library without
 * malloc_usable_size would leave libc's, which must not see its blocks). */
bool lks_usable_size_matches_malloc(void)
{
	Dl_info of_malloc, of_size;

	return lks_real.malloc && lks_real.malloc_usable_size &&
	       dladdr((void *)(uintptr_t)lks_real.malloc, &of_malloc) &&
	       dladdr((void *)(uintptr_t)lks_real.malloc_usable_size, &of_size) &&
	       of_malloc.dli_fbase == of_size.dli_fbase;
}

/* ---- dlclose: remember the object if it really goes away -------------- */

struct match {
	uint64_t bias;
	const char *name;
	struct module_info *out;
	bool found;
};

static int find_by_bias(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct match *match = arg;

	if (info->dlpi_addr != match->bias || !info->dlpi_name ||
	    strcmp(info->dlpi_name, match->name))
		return 0;
	if (match->out)
		describe(info, match->out);
	match->found = true;
	return 1;
}

void lks_modules_note_dlclose(void *handle)
{
	struct link_map *map = NULL;
	struct match match;

	closing_known = false;
	if (!handle || dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || !map || !map->l_name)
		return;
	match = (struct match){ map->l_addr, map->l_name, &closing, false };
	dl_iterate_phdr(find_by_bias, &match);
	closing_known = match.found;
}

void lks_modules_after_dlclose(void)
{
	struct match match = { closing.record.bias, closing.path, NULL, false };
	uint32_t index;

	if (!closing_known || !unloaded)
		return;
	closing_known = false;
	dl_iterate_phdr(find_by_bias, &match);
	if (match.found)
		return;  /* only a reference was dropped */
	lks_unwind_forget(closing.record.start, closing.record.end);
	index = __atomic_fetch_add(&unloaded_count, 1, __ATOMIC_RELAXED);
	if (index >= MAX_UNLOADED)
		return;
	unloaded[index] = closing;
	unloaded[index].record.flags |= LKS_MF_UNLOADED;
}

LKS_EXPORT int dlclose(void *handle)
{
	unsigned char quiet = lks_quiet_begin(); /* dlinfo and dl_iterate_phdr may allocate */
	int result;

	lks_real_get(&lks_real.dlclose);
	lks_modules_note_dlclose(handle);
	result = lks_real.dlclose(handle);
	if (result == 0)
		lks_modules_after_dlclose();
	lks_quiet_end(quiet);
	return result;
}

/* ---- snapshot section ----------------------------------------------------- */

struct writer {
	struct lks_buf *out;
	struct lks_strtab *strings;
	bool first;
};

static void emit(struct writer *writer, struct module_info *module)
{
	const char *path = module->path;

	if (writer->first) {
		module->record.flags |= LKS_MF_MAIN;
		path = lks_exe_path();  /* the loader names the executable "" */
	}
	if (module->record.start == shim_start && shim_start)
		module->record.flags |= LKS_MF_SHIM;
	if (!strncmp(path, "linux-vdso", 10) || !strncmp(path, "linux-gate", 10))
		module->record.flags |= LKS_MF_VDSO;
	module->record.path = lks_strtab_add(writer->strings, path);
	lks_buf_append(writer->out, &module->record, sizeof(module->record));
	writer->first = false;
}

static int emit_loaded(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct module_info module;

	describe(info, &module);
	emit(arg, &module);
	return 0;
}

int lks_modules_write(struct lks_buf *out, struct lks_strtab *strings)
{
	struct writer writer = { out, strings, true };
	uint32_t count = __atomic_load_n(&unloaded_count, __ATOMIC_RELAXED);

	dl_iterate_phdr(emit_loaded, &writer);
	writer.first = false;
	for (uint32_t i = 0; i < count && i < MAX_UNLOADED; i++)
		emit(&writer, &unloaded[i]);
	return out->failed ? -1 : 0;
}
