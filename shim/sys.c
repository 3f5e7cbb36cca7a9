/* SPDX-License-Identifier: MIT */
/* Raw system calls (sys.h), as the sanitizers' internal_mmap: through
 * libc's syscall(), which only traps and sets errno. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fdproxy.h"
#include "sys.h"

/* ret lks_sys_NAME params: the system call of that name with args. */
#define SYSCALL_AS(ret, name, params, number, ...)                          \
	ret lks_sys_##name params                                           \
	{                                                                   \
		return (ret)syscall(number, __VA_ARGS__);                   \
	}

SYSCALL_AS(void *, mmap, (void *addr, size_t len, int prot, int flags, int fd, off_t off),
           SYS_mmap, addr, len, prot, flags, fd, off)
SYSCALL_AS(int, munmap, (void *addr, size_t len), SYS_munmap, addr, len)
SYSCALL_AS(int, mprotect, (void *addr, size_t len, int prot), SYS_mprotect, addr, len, prot)
SYSCALL_AS(void *, mremap, (void *old_addr, size_t old_len, size_t new_len, int flags,
                            void *new_addr),
           SYS_mremap, old_addr, old_len, new_len, flags, new_addr)
SYSCALL_AS(int, close_range, (unsigned int first, unsigned int last, int flags),
           SYS_close_range, first, last, flags)
SYSCALL_AS(int, fcntl, (int fd, int cmd, void *arg), SYS_fcntl, fd, cmd, arg)
SYSCALL_AS(int, fstat, (int fd, struct stat *st), SYS_fstat, fd, st)
SYSCALL_AS(int, faccessat, (int dir_fd, const char *path, int mode),
           SYS_faccessat, dir_fd, path, mode)
SYSCALL_AS(int, mknodat, (int dir_fd, const char *path, mode_t mode, dev_t dev),
           SYS_mknodat, dir_fd, path, mode, dev)
SYSCALL_AS(int, socket, (int domain, int type, int protocol), SYS_socket, domain, type,
           protocol)
SYSCALL_AS(int, dup, (int fd), SYS_dup, fd)
SYSCALL_AS(pid_t, wait4, (pid_t pid, int *status, int options, void *usage), SYS_wait4, pid,
           status, options, usage)
SYSCALL_AS(int, waitid, (int id_type, id_t id, void *info, int options), SYS_waitid, id_type,
           id, info, options, NULL)
SYSCALL_AS(int, dup3, (int old_fd, int new_fd, int flags), SYS_dup3, old_fd, new_fd, flags)
SYSCALL_AS(int, pipe2, (int fds[2], int flags), SYS_pipe2, fds, flags)
SYSCALL_AS(int, socketpair, (int domain, int type, int protocol, int fds[2]),
           SYS_socketpair, domain, type, protocol, fds)
SYSCALL_AS(int, accept4, (int fd, struct sockaddr *addr, socklen_t *len, int flags),
           SYS_accept4, fd, addr, len, flags)
SYSCALL_AS(ssize_t, recvmsg, (int fd, struct msghdr *msg, int flags), SYS_recvmsg, fd, msg,
           flags)
SYSCALL_AS(int, eventfd, (unsigned int count, int flags), SYS_eventfd2, count, flags)
SYSCALL_AS(int, timerfd_create, (int clock, int flags), SYS_timerfd_create, clock, flags)
SYSCALL_AS(int, signalfd, (int fd, const sigset_t *mask, int flags), SYS_signalfd4, fd, mask,
           _NSIG / 8, flags)
SYSCALL_AS(int, epoll_create1, (int flags), SYS_epoll_create1, flags)
SYSCALL_AS(int, inotify_init1, (int flags), SYS_inotify_init1, flags)
SYSCALL_AS(int, memfd_create, (const char *name, unsigned int flags), SYS_memfd_create,
           name, flags)
SYSCALL_AS(int, pidfd_open, (pid_t pid, unsigned int flags), SYS_pidfd_open, pid, flags)

/* ---- the shim's own files: a tagged fd is the helper's (fdproxy.c) ------- */

/* ret lks_sys_NAME(int fd, more): the system call, or the helper's. */
#define FD_SYSCALL_AS(ret, name, params, number, fd, b, c, d)               \
	ret lks_sys_##name params                                           \
	{                                                                   \
		if (lks_fdproxy_tagged(fd))                                 \
			return (ret)lks_fdproxy_call(number, fd, (long)(b), (long)(c), (long)(d)); \
		return (ret)syscall(number, fd, b, c, d);                   \
	}

FD_SYSCALL_AS(ssize_t, read, (int fd, void *buf, size_t len), SYS_read, fd, buf, len, 0)
FD_SYSCALL_AS(ssize_t, pread, (int fd, void *buf, size_t len, off_t offset), SYS_pread64, fd,
              buf, len, offset)
FD_SYSCALL_AS(ssize_t, write, (int fd, const void *buf, size_t len), SYS_write, fd, buf, len, 0)
FD_SYSCALL_AS(int, close, (int fd), SYS_close, fd, 0, 0, 0)
FD_SYSCALL_AS(ssize_t, getdents64, (int fd, void *buf, size_t len), SYS_getdents64, fd, buf,
              len, 0)

/* Within a snapshot, when every fd is in use, by the helper. */
int lks_sys_openat(int dir_fd, const char *path, int flags, mode_t mode)
{
	int fd = (int)syscall(SYS_openat, dir_fd, path, flags, mode);

	if (fd < 0 && errno == EMFILE)
		return lks_fdproxy_openat(dir_fd, path, flags, mode);
	return fd;
}

/* dup2 of an fd onto itself only checks that it is open (dup3 refuses). */
int lks_sys_dup2(int old_fd, int new_fd)
{
	if (old_fd == new_fd)
		return lks_sys_fcntl(old_fd, F_GETFD, NULL) < 0 ? -1 : new_fd;
	return lks_sys_dup3(old_fd, new_fd, 0);
}

/* The size is a hint the kernel ignores, but it must be positive. */
int lks_sys_epoll_create(int size)
{
	if (size <= 0) {
		errno = EINVAL;
		return -1;
	}
	return lks_sys_epoll_create1(0);
}

/* Not /proc/self: once the main thread has called pthread_exit, its maps
 * read empty and its fd links fail, though the process lives on. */
int lks_sys_open_proc(const char *name)
{
	char path[64] = "/proc/thread-self/";
	size_t at = sizeof("/proc/thread-self/") - 1, len = 0;
	int fd;

	while (name[len] && at + len + 1 < sizeof(path)) {
		path[at + len] = name[len];
		len++;
	}
	path[at + len] = '\0';
	fd = lks_sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0 && errno == ENOENT) {  /* kernels before 3.17 */
		memmove(path + sizeof("/proc/self/") - 1, path + at, len + 1);
		memcpy(path, "/proc/self/", sizeof("/proc/self/") - 1);
		fd = lks_sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	}
	return fd;
}
