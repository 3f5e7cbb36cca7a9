/* SPDX-License-Identifier: MIT */
/* Finding the shim from /proc/self/exe. LEAKSCOPE_SHIM_RELDIR comes from
 * meson: the install's shim directory relative to its bindir (or absolute
 * when the two share no prefix). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shimpath.h"

#ifndef LEAKSCOPE_SHIM_RELDIR
#error "meson passes LEAKSCOPE_SHIM_RELDIR"
#endif

static int try_candidate(const char *dir, const char *relative, char *path,
			 size_t size)
{
	char joined[PATH_MAX + 64], resolved[PATH_MAX];
	int n;

	if (relative[0] == '/')
		n = snprintf(joined, sizeof(joined), "%s/%s", relative, SHIM_FILE_NAME);
	else
		n = snprintf(joined, sizeof(joined), "%s/%s/%s", dir, relative,
			     SHIM_FILE_NAME);
	if (n < 0 || (size_t)n >= sizeof(joined))
		return -ENAMETOOLONG;
	if (access(joined, R_OK) != 0 || !realpath(joined, resolved))
		return -ENOENT;
	if (strlen(resolved) >= size)
		return -ENAMETOOLONG;
	strcpy(path, resolved);
	return 0;
}

int shim_locate_from(const char *exe_dir, char *path, size_t size,
		     struct errmsg *err)
{
	static const char *const relatives[] = { "../shim", LEAKSCOPE_SHIM_RELDIR };

	for (size_t i = 0; i < sizeof(relatives) / sizeof(relatives[0]); i++)
		if (try_candidate(exe_dir, relatives[i], path, size) == 0)
			return 0;
	errmsg_set(err,
		   "cannot find %s (looked in %s/../shim and %s%s%s); give --shim PATH",
		   SHIM_FILE_NAME, exe_dir,
		   LEAKSCOPE_SHIM_RELDIR[0] == '/' ? "" : exe_dir,
		   LEAKSCOPE_SHIM_RELDIR[0] == '/' ? "" : "/", LEAKSCOPE_SHIM_RELDIR);
	return -ENOENT;
}

int shim_locate(char *path, size_t size, struct errmsg *err)
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (len < 0) {
		int r = -errno;

		errmsg_set(err, "/proc/self/exe: %s", strerror(-r));
		return r;
	}
	exe[len] = '\0';
	slash = strrchr(exe, '/');
	if (!slash) {
		errmsg_set(err, "/proc/self/exe: not an absolute path: %s", exe);
		return -EINVAL;
	}
	*slash = '\0';
	return shim_locate_from(exe[0] ? exe : "/", path, size, err);
}
