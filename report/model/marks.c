/* SPDX-License-Identifier: MIT */
/* The marks a run leaves beside its snapshots (marks.h): written by `run`
 * and the shim, read with the snapshots of a directory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "marks.h"

static bool starts_with(const char *text, const char *prefix)
{
	return strncmp(text, prefix, strlen(prefix)) == 0;
}

bool marks_is_mark(const char *name)
{
	return starts_with(name, MARK_STARTED) || starts_with(name, MARK_KILLED) ||
	       starts_with(name, LKS_UNWRITTEN_PREFIX);
}

/* A decimal number up to `end` (a '.' or the end of the name); NULL when
 * there is none. */
static const char *number(const char *at, long *value)
{
	char *end;

	errno = 0;
	*value = strtol(at, &end, 10);
	if (end == at || errno || *value <= 0 || *value > INT32_MAX || (*end && *end != '.'))
		return NULL;
	return end;
}

static int64_t modified_ns(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    stat(path, &st) < 0)
		return 0;
	return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

static struct model_no_data *add_ended(struct marks *marks)
{
	struct model_no_data *entry;

	if (ARRAY_RESERVE(marks->ended, marks->ended_capacity, marks->ended_count, 1) < 0)
		return NULL;
	entry = &marks->ended[marks->ended_count++];
	*entry = (struct model_no_data){ 0 };
	return entry;
}

/* "PID.SIGNAL.NAME" */
static int add_killed(struct marks *marks, const char *fields)
{
	struct model_no_data *entry;
	long pid, signal;
	const char *at = number(fields, &pid);

	if (!at || !*at || !(at = number(at + 1, &signal)) || signal >= 128)
		return 0;
	entry = add_ended(marks);
	if (!entry)
		return -ENOMEM;
	entry->pid = (int32_t)pid;
	entry->signal = (int32_t)signal;
	if (*at)
		snprintf(entry->name, sizeof(entry->name), "%s", at + 1);
	return 0;
}

/* "E-STEP" (format.h): errno E, 0 when unknown, then a one-word step */
static bool parse_write_failure(const char *fields, struct model_no_data *entry)
{
	char *end;
	long error;
	size_t step_len;

	errno = 0;
	error = strtol(fields, &end, 10);
	if (end == fields || errno || error < 0 || error > INT32_MAX || *end != '-')
		return false;
	step_len = strspn(end + 1, "abcdefghijklmnopqrstuvwxyz0123456789_");
	if (!step_len || end[1 + step_len] || step_len >= sizeof(entry->write_step))
		return false;
	entry->write_errno = (int32_t)error;
	memcpy(entry->write_step, end + 1, step_len + 1);
	return true;
}

/* "PID.WHY": the reasons the shim writes today (format.h); another is
 * ignored */
static int add_unwritten(struct marks *marks, const char *fields)
{
	struct model_no_data found = { 0 };
	struct model_no_data *entry;
	long pid, limit;
	const char *at = number(fields, &pid);

	if (!at)
		return 0;
	if (starts_with(at, "." LKS_UNWRITTEN_NOFILE) &&
	    number(at + 1 + strlen(LKS_UNWRITTEN_NOFILE), &limit))
		found.fd_limit = (int32_t)limit;
	else if (!starts_with(at, "." LKS_UNWRITTEN_FAILED) ||
		 !parse_write_failure(at + 1 + strlen(LKS_UNWRITTEN_FAILED), &found))
		return 0;
	entry = add_ended(marks);
	if (!entry)
		return -ENOMEM;
	*entry = found;
	entry->pid = (int32_t)pid;
	return 0;
}

int marks_add(struct marks *marks, const char *dir, const char *name)
{
	long pid;
	int64_t when;

	if (starts_with(name, MARK_KILLED))
		return add_killed(marks, name + strlen(MARK_KILLED));
	if (starts_with(name, LKS_UNWRITTEN_PREFIX))
		return add_unwritten(marks, name + strlen(LKS_UNWRITTEN_PREFIX));
	if (!starts_with(name, MARK_STARTED) || !number(name + strlen(MARK_STARTED), &pid))
		return 0;
	/* a directory several runs wrote to: the latest run's root */
	when = modified_ns(dir, name);
	if (!marks->started || when > marks->started_ns) {
		marks->started = (int32_t)pid;
		marks->started_ns = when;
	}
	return 0;
}

void marks_free(struct marks *marks)
{
	free(marks->ended);
	*marks = (struct marks){ 0 };
}

/* ---- writing (leakscope run) ----------------------------------------------- */

static int touch(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int marks_write_started(const char *dir, pid_t pid)
{
	char name[64];

	snprintf(name, sizeof(name), MARK_STARTED "%d", (int)pid);
	return touch(dir, name);
}

/* NAME as the kernel keeps it (comm, 15 bytes), '/' made '_'. */
int marks_write_killed(const char *dir, pid_t pid, int signal, const char *name)
{
	char mark[96];
	int len = snprintf(mark, sizeof(mark), MARK_KILLED "%d.%d.", (int)pid, signal);

	for (const char *c = name; *c && len + 1 < (int)sizeof(mark); c++)
		mark[len++] = *c == '/' ? '_' : *c;
	mark[len] = '\0';
	return touch(dir, mark);
}
