/* SPDX-License-Identifier: MIT */
/* Creating, listing and removing the snapshot directory of `leakscope run`.
 * Its path travels in LEAKSCOPE_OPTIONS, where ':' separates options. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outdir.h"

static int fail(struct errmsg *err, const char *path, int r)
{
	errmsg_set(err, "%s: %s", path, strerror(-r));
	return r;
}

static int make_temporary(char **path, struct errmsg *err)
{
	const char *tmp = getenv("TMPDIR");
	char *name;

	if (!tmp || tmp[0] != '/')
		tmp = "/tmp";
	if (asprintf(&name, "%s/leakscope.XXXXXX", tmp) < 0)
		return fail(err, tmp, -ENOMEM);
	if (!mkdtemp(name)) { /* mode 0700: snapshots show the program's data */
		int r = -errno;

		fail(err, name, r);
		free(name);
		return r;
	}
	*path = name;
	return 0;
}

/* Whoever else can write the directory can put snapshots in it (they are
 * ignored: the run token), remove the run's or take the names it would
 * use. Such a directory is refused unless the user says it is shared. */
static int check_private(const char *path, bool shared, struct errmsg *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return fail(err, path, -errno);
	if (!S_ISDIR(st.st_mode))
		return fail(err, path, -ENOTDIR);
	if (shared || (st.st_uid == geteuid() && !(st.st_mode & (S_IWGRP | S_IWOTH))))
		return 0;
	errmsg_set(err, "%s: %s can write to this snapshot directory (chmod go-w, another "
		   "directory, or --shared-dir to use it anyway)", path,
		   st.st_uid != geteuid() ? "another user" : "others than you");
	return -EPERM;
}

static int use_requested(const char *requested, bool shared, char **path,
			 struct errmsg *err)
{
	if (mkdir(requested, 0700) < 0 && errno != EEXIST)
		return fail(err, requested, -errno);
	*path = realpath(requested, NULL);
	if (!*path)
		return fail(err, requested, -errno);
	return check_private(*path, shared, err);
}

int outdir_open(const char *requested, bool shared, struct outdir *dir,
		struct errmsg *err)
{
	int r;

	*dir = (struct outdir){ .temporary = requested == NULL };
	r = requested ? use_requested(requested, shared, &dir->path, err)
		      : make_temporary(&dir->path, err);
	if (r < 0) {
		free(dir->path);
		dir->path = NULL;
		return r;
	}
	if (strchr(dir->path, ':')) {
		errmsg_set(err, "%s: the snapshot directory cannot contain ':' "
			   "(it separates LEAKSCOPE_OPTIONS)", dir->path);
		r = -EINVAL;
	} else {
		r = snapset_list_dir(dir->path, &dir->before, err);
	}
	if (r < 0)
		outdir_close(dir, !dir->temporary, NULL);
	return r;
}

int outdir_new_snapshots(const struct outdir *dir, struct namelist *paths,
			 struct errmsg *err)
{
	struct namelist now;
	size_t kept = 0;
	int r = snapset_list_dir(dir->path, &now, err);

	if (r < 0)
		return r;
	for (size_t i = 0; i < now.count; i++) {
		char *name = now.names[i], *path;

		if (!namelist_has(&dir->before, name)) {
			if (asprintf(&path, "%s/%s", dir->path, name) < 0)
				r = -ENOMEM;
			else
				now.names[kept++] = path;
		}
		free(name);
	}
	now.count = kept;
	if (r < 0) {
		namelist_free(&now);
		return fail(err, dir->path, r);
	}
	*paths = now;
	return 0;
}

/* The directory is ours and private: everything in it came from the shim. */
static int remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *entry;
	int r = 0;

	if (!d)
		return -errno;
	while ((entry = readdir(d)))
		if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..") &&
		    unlinkat(dirfd(d), entry->d_name, 0) < 0 && r == 0)
			r = -errno;
	closedir(d);
	if (rmdir(path) < 0 && r == 0)
		r = -errno;
	return r;
}

int outdir_close(struct outdir *dir, bool keep, struct errmsg *err)
{
	int r = 0;

	if (dir->path && dir->temporary && !keep) {
		r = remove_tree(dir->path);
		if (r < 0)
			fail(err, dir->path, r);
	}
	namelist_free(&dir->before);
	free(dir->path);
	dir->path = NULL;
	return r;
}
