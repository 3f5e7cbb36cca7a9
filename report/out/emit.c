/* SPDX-License-Identifier: MIT */
/* Opening, writing and closing every output file of every command, and
 * saying which one failed and why. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emit.h"

static const char *stream_name(FILE *stream)
{
	if (stream == stdout)
		return "standard output";
	return stream == stderr ? "standard error" : "the output";
}

/* A format's writes are buffered: one that failed shows at the flush, or in
 * the stream's error flag. */
static int run_format(const struct emit_output *o, FILE *stream)
{
	int r = o->write(stream, o->what);

	if (r == 0 && (fflush(stream) != 0 || ferror(stream)))
		r = -(errno ? errno : EIO);
	return r;
}

static int emit_one(const struct emit_output *o, struct errmsg *err)
{
	FILE *stream = o->path ? fopen(o->path, "w") : o->stream;
	int r;

	if (!stream) {
		r = -errno;
		errmsg_set(err, "%s: %s", o->path, strerror(-r));
		return r;
	}
	r = run_format(o, stream);
	if (o->path && fclose(stream) != 0 && r == 0)
		r = -errno;
	if (r < 0)
		errmsg_set(err, "writing %s: %s", o->path ? o->path : stream_name(o->stream),
			   strerror(-r));
	return r;
}

int emit(const struct emit_output *outputs, size_t count, struct errmsg *err)
{
	for (size_t i = 0; i < count; i++) {
		int r = outputs[i].path || outputs[i].stream ? emit_one(&outputs[i], err) : 0;

		if (r < 0)
			return r;
	}
	return 0;
}

/* "DIR/.NAME.XXXXXX" beside "DIR/NAME": a dot file, which no listing of
 * snapshots takes for one. */
static char *temporary_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	int dir_len = slash ? (int)(slash - path + 1) : 0;
	char *name;

	if (asprintf(&name, "%.*s.%s.XXXXXX", dir_len, path, path + dir_len) < 0)
		return NULL;
	return name;
}

int emit_private(const struct emit_output *o, struct errmsg *err)
{
	char *temporary = temporary_name(o->path);
	FILE *stream = NULL;
	int fd, r;

	/* mkostemp: O_CREAT | O_EXCL, mode 0600; O_EXCL never follows a link */
	fd = temporary ? mkostemp(temporary, O_CLOEXEC) : -1;
	if (fd < 0 || !(stream = fdopen(fd, "w"))) {
		r = temporary ? -errno : -ENOMEM;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	r = run_format(o, stream);
	if (fclose(stream) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(temporary, o->path) < 0)
		r = -errno;
out:
	if (r < 0) {
		errmsg_set(err, "writing %s: %s", o->path, strerror(-r));
		if (fd >= 0)
			unlink(temporary);
	}
	free(temporary);
	return r;
}

int emit_check_writable(const char *path, struct errmsg *err)
{
	int fd;

	if (!path)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0) {
		int r = -errno;

		errmsg_set(err, "%s: %s", path, strerror(-r));
		return r;
	}
	close(fd);
	return 0;
}
