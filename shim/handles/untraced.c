/* SPDX-License-Identifier: MIT */
/* Programs the preload cannot reach: a static binary has no dynamic loader
 * to read LD_PRELOAD, and a set-user-ID or set-group-ID program that
 * changes our IDs runs in secure mode, where the loader ignores a preload
 * path with a slash. Either would be missing from the report without a
 * word, so we say so when it is exec'd. Runs between fork and exec: no
 * malloc, and the files it reads go through sys.c. */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"
#include "sys.h"
#include "untraced.h"

#define PHDRS_READ 64  /* PT_INTERP comes first in every linker's output */

static bool read_at(int fd, void *buffer, size_t size, off_t offset)
{
	return lks_sys_pread(fd, buffer, size, offset) == (ssize_t)size;
}

/* An ELF file with program headers but no PT_INTERP: nothing loads a
 * preload into it. Scripts and files we cannot read get no verdict. */
static bool statically_linked(int fd)
{
	Elf64_Phdr phdrs[PHDRS_READ];
	Elf64_Ehdr header;
	size_t count;

	if (!read_at(fd, &header, sizeof(header), 0) ||
	    memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
	    header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_phentsize != sizeof(Elf64_Phdr) ||
	    header.e_phnum == 0)
		return false;
	count = header.e_phnum < PHDRS_READ ? header.e_phnum : PHDRS_READ;
	if (!read_at(fd, phdrs, count * sizeof(Elf64_Phdr), (off_t)header.e_phoff))
		return false;
	for (size_t i = 0; i < count; i++)
		if (phdrs[i].p_type == PT_INTERP)
			return false;
	return true;
}

/* The kernel sets AT_SECURE only when exec changes an ID. */
static bool changes_ids(const struct stat *st)
{
	return ((st->st_mode & S_ISUID) && st->st_uid != geteuid()) ||
	       ((st->st_mode & S_ISGID) && st->st_gid != getegid());
}

static const char *verdict_for(const char *path)
{
	const char *verdict = NULL;
	struct stat st;
	int fd = lks_sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		if (changes_ids(&st))
			verdict = " is set-user-ID or set-group-ID: the loader ignores the preload; it runs untraced";
		else if (statically_linked(fd))
			verdict = " is statically linked: the shim cannot be preloaded; it runs untraced";
	}
	lks_sys_close(fd);
	return verdict;
}

/* dir (len bytes, empty for the cwd) joined with file, if executable. */
static bool executable_in(const char *dir, size_t len, const char *file, char *path,
                          size_t size)
{
	size_t file_len = strlen(file);

	if (!len) {
		dir = ".";
		len = 1;
	}
	if (len + 1 + file_len >= size)
		return false;
	memcpy(path, dir, len);
	path[len] = '/';
	memcpy(path + len + 1, file, file_len + 1);
	return lks_sys_faccessat(AT_FDCWD, path, X_OK) == 0;
}

/* What execvp would run: the first executable file in PATH. */
static bool search_path(const char *file, char *path, size_t size)
{
	const char *dirs = getenv("PATH");  /* not the hot path: exec only */

	if (!dirs)
		dirs = "/bin:/usr/bin";
	while (*dirs) {
		size_t len = strcspn(dirs, ":");

		if (executable_in(dirs, len, file, path, size))
			return true;
		dirs += len + (dirs[len] == ':');
	}
	return false;
}

bool lks_warn_if_untraced(const char *file, bool search)
{
	char found[PATH_MAX];
	const char *path = file, *verdict;
	struct lks_line line = { .len = 0 };

	if (!file || !*file)
		return false;
	if (search && !strchr(file, '/')) {
		if (!search_path(file, found, sizeof(found)))
			return false;
		path = found;
	}
	verdict = verdict_for(path);
	if (!verdict)
		return false;
	lks_line_str(&line, path);
	lks_line_str(&line, verdict);
	lks_say(&line);
	return true;
}
