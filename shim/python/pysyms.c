/* SPDX-License-Identifier: MIT */
/* The .cold part GCC splits off _PyEval_EvalFrameDefault (its error paths):
 * a return address there is still a frame of the eval loop. Only a symbol
 * table names it, so this reads the object's .symtab once at start-up,
 * through raw system calls (nothing the program could see or record). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../shim.h"
#include "pyroom.h"

#define COLD_SUFFIX ".cold"

struct image {
	const uint8_t *bytes;
	size_t size;
};

static bool map_file(const char *path, struct image *image)
{
	struct stat st;
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	long addr;

	if (fd < 0)
		return false;
	image->bytes = NULL;
	if (syscall(SYS_fstat, fd, &st) == 0 && st.st_size > (off_t)sizeof(Elf64_Ehdr)) {
		image->size = (size_t)st.st_size;
		addr = syscall(SYS_mmap, NULL, image->size, PROT_READ, MAP_PRIVATE, fd, 0);
		image->bytes = addr == -1 ? NULL : (const uint8_t *)addr;
	}
	syscall(SYS_close, fd);
	return image->bytes != NULL;
}

static const Elf64_Shdr *symtab_of(const struct image *image, const Elf64_Shdr **strtab)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)image->bytes;
	const Elf64_Shdr *sections;

	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    eh->e_shoff > image->size ||
	    (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > image->size - eh->e_shoff)
		return NULL;
	sections = (const Elf64_Shdr *)(image->bytes + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *s = &sections[i];

		if (s->sh_type != SHT_SYMTAB || s->sh_link >= eh->e_shnum ||
		    s->sh_offset > image->size || s->sh_size > image->size - s->sh_offset)
			continue;
		*strtab = &sections[s->sh_link];
		if ((*strtab)->sh_offset > image->size ||
		    (*strtab)->sh_size > image->size - (*strtab)->sh_offset)
			return NULL;
		return s;
	}
	return NULL;
}

/* The symbol's name when it lies inside the string table, else "". */
static const char *name_of(const struct image *image, const Elf64_Shdr *strtab,
                           const Elf64_Sym *sym)
{
	const char *names = (const char *)image->bytes + strtab->sh_offset;

	if (sym->st_name >= strtab->sh_size ||
	    !memchr(names + sym->st_name, '\0', strtab->sh_size - sym->st_name))
		return "";
	return names + sym->st_name;
}

/* `name` and `name.cold` at their link-time addresses. */
static bool find_pair(const struct image *image, const char *name, Elf64_Sym *hot,
                      Elf64_Sym *cold)
{
	const Elf64_Shdr *strtab, *symtab = symtab_of(image, &strtab);
	size_t len = strlen(name);
	bool have_hot = false, have_cold = false;

	if (!symtab)
		return false;
	for (uint64_t i = 0; i < symtab->sh_size / sizeof(Elf64_Sym); i++) {
		const Elf64_Sym *sym = (const Elf64_Sym *)(image->bytes + symtab->sh_offset) + i;
		const char *sym_name = name_of(image, strtab, sym);

		if (strncmp(sym_name, name, len) != 0)
			continue;
		if (sym_name[len] == '\0' && sym->st_value) {
			*hot = *sym;
			have_hot = true;
		} else if (strcmp(sym_name + len, COLD_SUFFIX) == 0 && sym->st_size) {
			*cold = *sym;
			have_cold = true;
		}
	}
	return have_hot && have_cold;
}

bool lks_py_cold_range(uint64_t function, uint64_t *start, uint64_t *end)
{
	Dl_info info;

	if (!dladdr((void *)function, &info) || !info.dli_fname || !info.dli_sname)
		return false;
	return lks_py_cold_range_in(info.dli_fname, info.dli_sname, function, start, end);
}

bool lks_py_cold_range_in(const char *path, const char *name, uint64_t function,
                          uint64_t *start, uint64_t *end)
{
	struct image image;
	Elf64_Sym hot = { 0 }, cold = { 0 };
	bool found;

	/* the main program's name is "" to the loader: /proc/self/exe is the same file */
	if (!map_file(path[0] ? path : "/proc/self/exe", &image))
		return false;
	found = find_pair(&image, name, &hot, &cold);
	syscall(SYS_munmap, image.bytes, image.size);
	if (!found)
		return false;
	/* the same bias moves both: runtime - link-time address of the hot part */
	*start = function - hot.st_value + cold.st_value;
	*end = *start + cold.st_size;
	return true;
}
