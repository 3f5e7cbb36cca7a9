/* SPDX-License-Identifier: MIT */
/* A child closes stderr and opens a data file that gets fd 2, as daemons
 * do; its exit snapshot cannot be written (run with an unwritable
 * output_dir). The shim must not write its complaint into the data file.
 * Exits 0 when the file holds exactly what the child wrote. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char data[] = "the program's own data\n";

static void child(const char *path)
{
	close(STDERR_FILENO);
	if (open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600) != STDERR_FILENO)
		_exit(2);
	exit(write(STDERR_FILENO, data, strlen(data)) == (ssize_t)strlen(data) ? 0 : 3);
}

int main(void)
{
	char path[] = "/tmp/lks-stderr-XXXXXX", got[256];
	int fd = mkstemp(path), status;
	ssize_t len;
	pid_t pid;

	if (fd < 0)
		return 1;
	close(fd);
	pid = fork();
	if (pid == 0)
		child(path);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return 1;
	fd = open(path, O_RDONLY);
	len = fd < 0 ? -1 : read(fd, got, sizeof(got) - 1);
	unlink(path);
	if (len < 0)
		return 1;
	got[len] = '\0';
	if (strcmp(got, data) != 0) {
		fprintf(stderr, "the data file holds: %s", got);
		return 1;
	}
	return 0;
}
