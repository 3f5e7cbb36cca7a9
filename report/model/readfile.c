/* SPDX-License-Identifier: MIT */
/* read_whole_file (readfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readfile.h"

static int read_all(int fd, char *buffer, size_t size)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = read(fd, buffer + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* shrank while we read it */
		done += (size_t)n;
	}
	return 0;
}

int read_whole_file(const char *path, uint64_t max, char **data, size_t *size)
{
	/* O_NONBLOCK: opening a FIFO would otherwise wait for a writer, before
	 * fstat can refuse it; reads of a regular file ignore the flag */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), r;
	struct stat st;

	*data = NULL;
	*size = 0;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	else if ((uint64_t)st.st_size > max)
		r = -EFBIG;
	else if (!(*data = malloc((size_t)st.st_size + 1)))
		r = -ENOMEM;
	else
		r = read_all(fd, *data, (size_t)st.st_size);
	close(fd);
	*size = r == 0 || r == -EFBIG ? (size_t)st.st_size : 0;
	if (r < 0) {
		free(*data);
		*data = NULL;
	} else {
		(*data)[*size] = '\0';
	}
	return r;
}
