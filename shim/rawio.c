/* SPDX-License-Identifier: MIT */
/* Output without stdio: a fixed-size line formatter and a write(2) loop.
 * Usable at any time, including from exit paths and with the heap broken. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"
#include "sys.h"

void lks_line_str(struct lks_line *line, const char *str)
{
	size_t room = sizeof(line->text) - line->len;
	size_t len = strlen(str);

	if (len > room)
		len = room;  /* truncate rather than overflow: it is a message */
	memcpy(line->text + line->len, str, len);
	line->len += len;
}

void lks_line_u64(struct lks_line *line, uint64_t value)
{
	char digits[21];
	size_t at = sizeof(digits) - 1;

	digits[at] = '\0';
	do {
		digits[--at] = (char)('0' + value % 10);
		value /= 10;
	} while (value);
	lks_line_str(line, digits + at);
}

void lks_line_count(struct lks_line *line, uint64_t value, const char *what)
{
	lks_line_u64(line, value);
	lks_line_str(line, what);
}

void lks_line_bytes(struct lks_line *line, uint64_t bytes)
{
	static const char *const units[] = { " B", " KiB", " MiB", " GiB", " TiB" };
	uint64_t whole = bytes, tenths = 0;
	unsigned unit = 0;

	while (whole >= 1024 && unit + 1 < sizeof(units) / sizeof(units[0])) {
		tenths = (whole % 1024) * 10 / 1024;
		whole /= 1024;
		unit++;
	}
	lks_line_u64(line, whole);
	if (unit) {
		char tenth[3] = { '.', (char)('0' + tenths), '\0' };
		lks_line_str(line, tenth);
	}
	lks_line_str(line, units[unit]);
}

int lks_write_all(int fd, const void *buf, size_t len)
{
	const char *cursor = buf;

	while (len) {
		ssize_t done = lks_sys_write(fd, cursor, len);

		if (done < 0 && errno == EINTR)
			continue;
		if (done <= 0)
			return -1;
		cursor += done;
		len -= (size_t)done;
	}
	return 0;
}

void lks_say(struct lks_line *line)
{
	static const char prefix[] = "leakscope: ";
	int saved_errno = errno;
	char out[sizeof(prefix) + sizeof(line->text) + 1];
	size_t len = sizeof(prefix) - 1;

	/* A program that closed fd 2 and reused it (a daemon's log file, a
	 * pipe to a child) must not get our text in its data. */
	if (!lks_stderr_unchanged()) {
		errno = saved_errno;
		return;
	}
	memcpy(out, prefix, len);
	memcpy(out + len, line->text, line->len);
	len += line->len;
	out[len++] = '\n';
	lks_write_all(STDERR_FILENO, out, len);  /* one write: lines don't interleave */
	errno = saved_errno;
}
