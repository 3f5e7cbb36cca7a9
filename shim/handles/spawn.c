/* SPDX-License-Identifier: MIT */
/* exec and spawn interposers: before a new program starts, note the fds it
 * will inherit (opened by this program, without close-on-exec). Each exec
 * name is covered because libc's execl* and execvp call execve internally,
 * past any interposer. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "execnote.h"
#include "handles.h"
#include "untraced.h"

/* file: the program about to run (NULL when unknown), looked for in PATH
 * when search is set. */
static void note_children(bool replaces_image, const char *file, bool search)
{
	int saved_errno = errno;

	if (lks_enter_started()) {
		lks_execnote_before_exec(replaces_image);
		if (lks_warn_if_untraced(file, search))
			lks_execnote_count_untraced(replaces_image);
		lks_leave();
	}
	errno = saved_errno;
}

LKS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	note_children(true, path, false);
	return LKS_FORWARD(execve, -1, path, argv, envp);
}

LKS_EXPORT int execv(const char *path, char *const argv[])
{
	note_children(true, path, false);
	return LKS_FORWARD(execv, -1, path, argv);
}

LKS_EXPORT int execvp(const char *file, char *const argv[])
{
	note_children(true, file, true);
	return LKS_FORWARD(execvp, -1, file, argv);
}

LKS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	note_children(true, file, true);
	return LKS_FORWARD(execvpe, -1, file, argv, envp);
}

LKS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	note_children(true, NULL, false);
	return LKS_FORWARD(fexecve, -1, fd, argv, envp);
}

LKS_EXPORT int execveat(int dir_fd, const char *path, char *const argv[],
                        char *const envp[], int flags)
{
	note_children(true, dir_fd == AT_FDCWD || path[0] == '/' ? path : NULL, false);
	return LKS_FORWARD(execveat, -1, dir_fd, path, argv, envp, flags);
}

/* ---- execl, execlp, execle: the list becomes an array on the stack -------- */

/* No malloc between fork and exec: a fixed array. A list is written out in
 * the source, so no real program comes near this. */
#define LIST_MAX 4096

/* argv[0..LIST_MAX]; false (E2BIG) when the list is longer. */
static bool fill_args(char **argv, const char *arg0, va_list args)
{
	size_t i = 0;

	argv[i++] = (char *)arg0;
	while ((argv[i] = va_arg(args, char *)))
		if (++i == LIST_MAX) {
			errno = E2BIG;
			return false;
		}
	return true;
}

#define EXEC_LIST(call, with_env)                                         \
	do {                                                              \
		char *argv[LIST_MAX + 1];                                 \
		char *const *envp = environ;                              \
		va_list args;                                             \
		bool complete;                                            \
		va_start(args, arg0);                                     \
		complete = fill_args(argv, arg0, args);                   \
		if (complete && with_env)                                 \
			envp = va_arg(args, char *const *);               \
		va_end(args);                                             \
		(void)envp;                                               \
		return complete ? call : -1;                              \
	} while (0)

LKS_EXPORT int execl(const char *path, const char *arg0, ...)
{
	EXEC_LIST(execv(path, argv), false);
}

LKS_EXPORT int execlp(const char *file, const char *arg0, ...)
{
	EXEC_LIST(execvp(file, argv), false);
}

LKS_EXPORT int execle(const char *path, const char *arg0, ...)
{
	EXEC_LIST(execve(path, argv, envp), true);
}

/* ---- spawning: the child is another process, the notes stay here --------- */

LKS_EXPORT int posix_spawn(pid_t *pid, const char *path,
                           const posix_spawn_file_actions_t *actions,
                           const posix_spawnattr_t *attr, char *const argv[],
                           char *const envp[])
{
	note_children(false, path, false);
	return LKS_FORWARD(posix_spawn, ENOSYS, pid, path, actions, attr, argv, envp);
}

LKS_EXPORT int posix_spawnp(pid_t *pid, const char *file,
                            const posix_spawn_file_actions_t *actions,
                            const posix_spawnattr_t *attr, char *const argv[],
                            char *const envp[])
{
	note_children(false, file, true);
	return LKS_FORWARD(posix_spawnp, ENOSYS, pid, file, actions, attr, argv, envp);
}

LKS_EXPORT int system(const char *command)
{
	if (command)
		note_children(false, NULL, false);
	return LKS_FORWARD(system, -1, command);
}
