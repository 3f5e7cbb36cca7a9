/* SPDX-License-Identifier: MIT */
/* A real snapshot for the tests that take one apart: the shim preloaded
 * into a program, in a directory of its own that is removed after, and
 * the file read into memory; and a changed one sealed again. */
#ifndef LEAKSCOPE_TEST_REALSNAP_H
#define LEAKSCOPE_TEST_REALSNAP_H

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checksum.h"
#include "format.h"

struct blob {
	uint8_t *bytes;
	size_t size;
};

extern char **environ;

/* A changed file made whole again, as a forger would: its size and checksum
 * in the header, so that the reader's other checks are what judge it. */
static inline void reseal(uint8_t *bytes, size_t size)
{
	struct lks_header *header = (void *)bytes;
	uint64_t file_size = size;

	if (size < sizeof(*header))
		return;
	memcpy(&header->file_size, &file_size, sizeof(file_size));
	header->checksum = lks_checksum_file(bytes, size, offsetof(struct lks_header, checksum));
}

/* The environment with LD_PRELOAD and LEAKSCOPE_OPTIONS replaced. */
static inline char **child_environment(char *preload, char *options)
{
	size_t count = 0, kept = 0;
	char **env;

	while (environ[count])
		count++;
	env = calloc(count + 3, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < count; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 &&
		    strncmp(environ[i], "LEAKSCOPE_OPTIONS=", 18) != 0)
			env[kept++] = environ[i];
	env[kept++] = preload;
	env[kept] = options;
	return env;
}

static inline int read_whole(const char *path, struct blob *out)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	out->size = (size_t)st.st_size;
	out->bytes = malloc(out->size);
	if (!out->bytes || read(fd, out->bytes, out->size) != (ssize_t)out->size) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Reads the one .lks file in dir and removes it and the directory. */
static inline int take_snapshot_file(const char *dir, struct blob *out)
{
	char path[4096];
	struct dirent *entry;
	DIR *listing = opendir(dir);
	int found = -1;

	if (!listing)
		return -1;
	while ((entry = readdir(listing))) {
		size_t len = strlen(entry->d_name);

		if (entry->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
		if (len > 4 && strcmp(entry->d_name + len - 4, ".lks") == 0 && found < 0)
			found = read_whole(path, out);
		unlink(path);
	}
	closedir(listing);
	rmdir(dir);
	return found;
}

/* `program ARG` (ARG may be NULL) under `shim`, its stdin and stdout
 * /dev/null (a TAP test's stdout is its results). */
static inline int make_real_snapshot(const char *shim, const char *program, const char *arg,
				     struct blob *out)
{
	char dir[] = "/tmp/lks-snapread-XXXXXX", preload[4200], options[100];
	char *argv[] = { (char *)program, (char *)arg, NULL };
	posix_spawn_file_actions_t actions;
	char **env;
	pid_t pid;
	int status, spawned;

	if (!mkdtemp(dir))
		return -1;
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", shim);
	snprintf(options, sizeof(options), "LEAKSCOPE_OPTIONS=output_dir=%s:summary=0", dir);
	env = child_environment(preload, options);
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
	spawned = env && posix_spawn(&pid, program, &actions, NULL, argv, env) == 0 &&
		  waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		  WEXITSTATUS(status) == 0;
	posix_spawn_file_actions_destroy(&actions);
	free(env);
	if (!spawned) {
		rmdir(dir);
		return -1;
	}
	return take_snapshot_file(dir, out);
}

#endif
