// SPDX-License-Identifier: MIT
/* A test suite's clean-up that empties and removes the directory the
 * snapshots go to (under `leakscope run`, a temporary one in $TMPDIR)
 * while the program runs: `leakscope run` says the directory went, and
 * exits with the program's status, as for any other missing snapshot. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The last output_dir= of LEAKSCOPE_OPTIONS (a later key wins), or NULL. */
static char *output_dir(void)
{
	const char *options = getenv("LEAKSCOPE_OPTIONS"), *at = options, *found = NULL;
	static char dir[4096];

	while (at && (at = strstr(at, "output_dir=")) != NULL) {
		if (at == options || at[-1] == ':' || at[-1] == ',')
			found = at + strlen("output_dir=");
		at++;
	}
	if (!found)
		return NULL;
	snprintf(dir, sizeof(dir), "%.*s", (int)strcspn(found, ":,"), found);
	return dir;
}

static void remove_tree(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *entry;

	if (!dir)
		return;
	while ((entry = readdir(dir)) != NULL)
		if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, ".."))
			unlinkat(dirfd(dir), entry->d_name, 0);
	closedir(dir);
	rmdir(path);
}

int main(void)
{
	char *dir = output_dir();

	if (dir)
		remove_tree(dir);
	puts("cleaned up");
	return 3;
}
