/* SPDX-License-Identifier: MIT */
/* Looking at the program file for the usual reasons a preload never runs:
 * no dynamic loader (static binaries, Go without cgo) or a setuid/setgid
 * bit (the loader then ignores LD_PRELOAD paths with a slash), and for the
 * one reason a loaded shim never gets to write its exit snapshot: a Go
 * program. Scripts are followed to their interpreter once. */
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diagnose.h"

/* Only asked of a program that ended by itself (session.c says what
 * killed one): a crash would have been a signal. What is left is a shim
 * never loaded into it, or one that could not write where no mark could
 * be left either (a chroot, a directory out of reach): its own line on
 * stderr says so. */
static const char *const did_not_report =
	"the shim did not report (not loaded into it, or it said why on stderr)";

/* The file execvp would run, or NULL. */
static bool find_in_path(const char *command, char *path, size_t size)
{
	const char *dirs = getenv("PATH");

	if (strchr(command, '/')) {
		snprintf(path, size, "%s", command);
		return access(path, X_OK) == 0;
	}
	if (!dirs)
		dirs = "/bin:/usr/bin";
	while (*dirs) {
		size_t len = strcspn(dirs, ":");

		snprintf(path, size, "%.*s/%s", (int)len, len ? dirs : ".", command);
		if (access(path, X_OK) == 0)
			return true;
		dirs += len + (dirs[len] == ':');
	}
	return false;
}

static bool has_interpreter(Elf *elf)
{
	bool found = false;
	size_t count = 0;

	if (elf_getphdrnum(elf, &count) != 0)
		return true; /* no verdict from us */
	for (size_t i = 0; i < count && !found; i++) {
		GElf_Phdr phdr;

		found = gelf_getphdr(elf, (int)i, &phdr) && phdr.p_type == PT_INTERP;
	}
	return found;
}

/* Go's linker writes the build information in a section of its own. */
static bool is_go_program(Elf *elf)
{
	size_t names;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &names) != 0)
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		const char *name = gelf_getshdr(scn, &shdr) ?
			elf_strptr(elf, names, shdr.sh_name) : NULL;

		if (name && !strcmp(name, ".go.buildinfo"))
			return true;
	}
	return false;
}

/* The verdict on an ELF file that the loader would run. */
static const char *diagnose_elf(int fd)
{
	const char *verdict = did_not_report;
	Elf *elf;
	bool readable; /* not ELF we can read: no verdict from us */

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	readable = elf && elf_kind(elf) == ELF_K_ELF;
	if (readable && !has_interpreter(elf))
		verdict = "statically linked: the shim cannot be preloaded";
	else if (readable && is_go_program(elf))
		/* the shim was loaded (cgo links the loader in), but Go's runtime
		 * ends the process with a bare exit_group system call: no exit
		 * handler of any library runs */
		verdict = "a Go program: its runtime exits by the exit_group system call, "
			  "not exit(); in-run snapshots work (docs/REACH.md, \"Go\")";
	elf_end(elf);
	return verdict;
}

/* "#!/bin/sh -e" gives "/bin/sh". */
static bool script_interpreter(int fd, char *path, size_t size)
{
	char line[PATH_MAX];
	ssize_t n = pread(fd, line, sizeof(line) - 1, 0);
	size_t start = 2;

	if (n < 3 || line[0] != '#' || line[1] != '!')
		return false;
	line[n] = '\0';
	while (line[start] == ' ' || line[start] == '\t')
		start++;
	line[start + strcspn(line + start, " \t\n")] = '\0';
	snprintf(path, size, "%s", line + start);
	return path[0] == '/';
}

static const char *diagnose_file(const char *path, int depth)
{
	char interpreter[PATH_MAX];
	const char *verdict = did_not_report;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return did_not_report;
	if (fstat(fd, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)))
		verdict = "setuid program: the loader ignores LD_PRELOAD";
	else if (script_interpreter(fd, interpreter, sizeof(interpreter)))
		verdict = depth ? did_not_report : diagnose_file(interpreter, depth + 1);
	else
		verdict = diagnose_elf(fd);
	close(fd);
	return verdict;
}

const char *diagnose_no_snapshot(const char *command)
{
	char path[PATH_MAX];

	if (!find_in_path(command, path, sizeof(path)))
		return did_not_report;
	return diagnose_file(path, 0);
}
