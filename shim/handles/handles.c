/* SPDX-License-Identifier: MIT */
/* The fd interposers: every call that makes a file descriptor records it
 * with the stack that made it, every call that closes one forgets it first,
 * then closes (so no other thread can be given the number meanwhile). */
#undef _FILE_OFFSET_BITS  /* define open, not a redirect to open64 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "handles.h"

/* For fds whose maker does not say what they are (SCM_RIGHTS, a copy of
 * an fd never recorded): kind and file from one fstat. */
static void learn_by_stat(struct lks_fd_entry *entry)
{
	struct stat st;

	if (lks_sys_fstat(entry->fd, &st) != 0) {
		entry->type = LKS_HANDLE_FD;
		lks_fd_set_identity(entry, NULL);
		return;
	}
	entry->type = S_ISSOCK(st.st_mode) ? LKS_HANDLE_SOCKET
	              : S_ISFIFO(st.st_mode) ? LKS_HANDLE_PIPE : LKS_HANDLE_FD;
	lks_fd_set_identity(entry, &st);
}

/* With lks_busy set. A copy shares its source's open file: it keeps the
 * source's kind (a copy of a stream's fd is a bare fd) and file. */
static void record_copy(int old_fd, int new_fd)
{
	struct lks_fd_entry source, copy = { .fd = new_fd };
	int saved_errno = errno;

	if (new_fd <= STDERR_FILENO)
		return;  /* never recorded (fdtable.c) */
	if (lks_fd_lookup(old_fd, &source) && (source.ino || source.dev)) {
		copy.type = source.type == LKS_HANDLE_FILE || source.type == LKS_HANDLE_DIR
		            ? LKS_HANDLE_FD : source.type;
		copy.ino = source.ino;
		copy.dev = source.dev;
	} else {
		learn_by_stat(&copy);
	}
	copy.trace = lks_capture_trace();
	lks_fd_record(&copy);
	errno = saved_errno;
}

/* Body of an interposer returning a copy of old_fd. */
#define CREATE_COPY(old_fd, raw, fn, ...)                                 \
	LKS_RETURN_NEW_FD(record_copy(old_fd, new_fd), raw, fn, __VA_ARGS__)

/* ---- open ------------------------------------------------------------------ */

/* The mode argument exists only with O_CREAT or O_TMPFILE. */
static mode_t mode_arg(int flags, va_list args)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE
	       ? (mode_t)va_arg(args, int) : 0;
}

/* In an interposer with (..., int flags, ...): the mode, or 0. */
#define MODE_ARG(flags)                                                   \
	({                                                                \
		va_list args_;                                            \
		mode_t mode_;                                             \
		va_start(args_, flags);                                   \
		mode_ = mode_arg(flags, args_);                           \
		va_end(args_);                                            \
		mode_;                                                    \
	})

#define OPEN_LIKE(name, fn)                                               \
	LKS_EXPORT int name(const char *path, int flags, ...)             \
	{                                                                 \
		mode_t mode = MODE_ARG(flags);                            \
		LKS_CREATE_FD(LKS_HANDLE_FD, lks_sys_openat(AT_FDCWD, path, flags, mode), \
		              fn, path, flags, mode);                     \
	}

OPEN_LIKE(open, open)
OPEN_LIKE(open64, open64)

#define OPENAT_LIKE(name, fn)                                             \
	LKS_EXPORT int name(int dir_fd, const char *path, int flags, ...) \
	{                                                                 \
		mode_t mode = MODE_ARG(flags);                            \
		LKS_CREATE_FD(LKS_HANDLE_FD, lks_sys_openat(dir_fd, path, flags, mode), \
		              fn, dir_fd, path, flags, mode);             \
	}

OPENAT_LIKE(openat, openat)
OPENAT_LIKE(openat64, openat64)

/* FORTIFY_SOURCE builds call these when the flags are not constant. */
LKS_EXPORT int __open_2(const char *path, int flags);
LKS_EXPORT int __open64_2(const char *path, int flags);
LKS_EXPORT int __openat_2(int dir_fd, const char *path, int flags);
LKS_EXPORT int __openat64_2(int dir_fd, const char *path, int flags);

LKS_EXPORT int __open_2(const char *path, int flags)
{
	LKS_CREATE_FD(LKS_HANDLE_FD, lks_sys_openat(AT_FDCWD, path, flags, 0), open_2, path,
	              flags);
}

LKS_EXPORT int __open64_2(const char *path, int flags)
{
	LKS_CREATE_FD(LKS_HANDLE_FD, lks_sys_openat(AT_FDCWD, path, flags, 0), open64_2, path,
	              flags);
}

LKS_EXPORT int __openat_2(int dir_fd, const char *path, int flags)
{
	LKS_CREATE_FD(LKS_HANDLE_FD, lks_sys_openat(dir_fd, path, flags, 0), openat_2, dir_fd,
	              path, flags);
}

LKS_EXPORT int __openat64_2(int dir_fd, const char *path, int flags)
{
	LKS_CREATE_FD(LKS_HANDLE_FD, lks_sys_openat(dir_fd, path, flags, 0), openat64_2, dir_fd,
	              path, flags);
}

#define CREAT_FLAGS (O_CREAT | O_WRONLY | O_TRUNC)

LKS_EXPORT int creat(const char *path, mode_t mode)
{
	LKS_CREATE_FD(LKS_HANDLE_FD, lks_sys_openat(AT_FDCWD, path, CREAT_FLAGS, mode), creat,
	              path, mode);
}

LKS_EXPORT int creat64(const char *path, mode_t mode)
{
	LKS_CREATE_FD(LKS_HANDLE_FD, lks_sys_openat(AT_FDCWD, path, CREAT_FLAGS, mode), creat64,
	              path, mode);
}

/* ---- kernel objects ----------------------------------------------------------- */

LKS_EXPORT int socket(int domain, int type, int protocol)
{
	LKS_CREATE_FD(LKS_HANDLE_SOCKET, lks_sys_socket(domain, type, protocol), socket, domain,
	              type, protocol);
}

LKS_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	LKS_CREATE_FD(LKS_HANDLE_SOCKET, lks_sys_accept4(fd, addr, len, 0), accept, fd, addr, len);
}

LKS_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	LKS_CREATE_FD(LKS_HANDLE_SOCKET, lks_sys_accept4(fd, addr, len, flags), accept4, fd, addr,
	              len, flags);
}

LKS_EXPORT int eventfd(unsigned int count, int flags)
{
	LKS_CREATE_FD(LKS_HANDLE_EVENTFD, lks_sys_eventfd(count, flags), eventfd, count, flags);
}

LKS_EXPORT int timerfd_create(int clock, int flags)
{
	LKS_CREATE_FD(LKS_HANDLE_TIMERFD, lks_sys_timerfd_create(clock, flags), timerfd_create,
	              clock, flags);
}

static int new_signalfd(const sigset_t *mask, int flags)
{
	LKS_CREATE_FD(LKS_HANDLE_SIGNALFD, lks_sys_signalfd(-1, mask, flags), signalfd, -1, mask,
	              flags);
}

/* Only fd == -1 makes a new one; otherwise the mask of fd changes. */
LKS_EXPORT int signalfd(int fd, const sigset_t *mask, int flags)
{
	if (fd != -1)
		return LKS_FORWARD_SYS(lks_sys_signalfd(fd, mask, flags), signalfd, fd, mask, flags);
	return new_signalfd(mask, flags);
}

LKS_EXPORT int epoll_create(int size)
{
	LKS_CREATE_FD(LKS_HANDLE_EPOLL, lks_sys_epoll_create(size), epoll_create, size);
}

LKS_EXPORT int epoll_create1(int flags)
{
	LKS_CREATE_FD(LKS_HANDLE_EPOLL, lks_sys_epoll_create1(flags), epoll_create1, flags);
}

LKS_EXPORT int inotify_init(void)
{
	LKS_CREATE_FD(LKS_HANDLE_INOTIFY, lks_sys_inotify_init1(0), inotify_init);
}

LKS_EXPORT int inotify_init1(int flags)
{
	LKS_CREATE_FD(LKS_HANDLE_INOTIFY, lks_sys_inotify_init1(flags), inotify_init1, flags);
}

LKS_EXPORT int memfd_create(const char *name, unsigned int flags)
{
	LKS_CREATE_FD(LKS_HANDLE_MEMFD, lks_sys_memfd_create(name, flags), memfd_create, name,
	              flags);
}

LKS_EXPORT int pidfd_open(pid_t pid, unsigned int flags)
{
	LKS_CREATE_FD(LKS_HANDLE_PIDFD, lks_sys_pidfd_open(pid, flags), pidfd_open, pid, flags);
}

/* ---- pairs ----------------------------------------------------------------- */

static void record_pair(const int fds[2], uint16_t kind)
{
	int saved_errno = errno;
	struct lks_fd_entry ends[2] = { { .fd = fds[0], .type = kind },
	                                { .fd = fds[1], .type = kind } };

	ends[0].trace = ends[1].trace = lks_capture_trace();  /* one stack for both */
	for (int i = 0; i < 2; i++) {
		lks_fd_identify(&ends[i]);
		lks_fd_record(&ends[i]);
	}
	errno = saved_errno;
}

#define CREATE_PAIR(kind, raw, fn, fds, ...)                              \
	do {                                                              \
		int result;                                               \
		if (lks_unlikely(!lks_enter_started()))                   \
			return LKS_FORWARD_SYS(raw, fn, __VA_ARGS__);     \
		result = LKS_FORWARD_SYS(raw, fn, __VA_ARGS__);           \
		if (result == 0)                                          \
			record_pair(fds, kind);                           \
		lks_leave();                                              \
		return result;                                            \
	} while (0)

LKS_EXPORT int pipe(int fds[2])
{
	CREATE_PAIR(LKS_HANDLE_PIPE, lks_sys_pipe2(fds, 0), pipe, fds, fds);
}

LKS_EXPORT int pipe2(int fds[2], int flags)
{
	CREATE_PAIR(LKS_HANDLE_PIPE, lks_sys_pipe2(fds, flags), pipe2, fds, fds, flags);
}

LKS_EXPORT int socketpair(int domain, int type, int protocol, int fds[2])
{
	CREATE_PAIR(LKS_HANDLE_SOCKET, lks_sys_socketpair(domain, type, protocol, fds), socketpair,
	            fds, domain, type, protocol, fds);
}

/* ---- fds received over a unix socket ---------------------------------------- */

static void record_received(const struct msghdr *msg)
{
	int saved_errno = errno;  /* fstat and the capture may set it */

	for (struct cmsghdr *cmsg = CMSG_FIRSTHDR((struct msghdr *)msg); cmsg;
	     cmsg = CMSG_NXTHDR((struct msghdr *)msg, cmsg)) {
		const unsigned char *data = CMSG_DATA(cmsg);
		size_t count;

		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			struct lks_fd_entry entry = { .addr = 0 };

			memcpy(&entry.fd, data + i * sizeof(int), sizeof(entry.fd)); /* unaligned */
			if (entry.fd <= STDERR_FILENO)
				continue;  /* never recorded (fdtable.c) */
			learn_by_stat(&entry);
			entry.trace = lks_capture_trace();
			lks_fd_record(&entry);
		}
	}
	errno = saved_errno;
}

LKS_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t got;

	if (lks_unlikely(!lks_enter_started()))
		return LKS_FORWARD_SYS(lks_sys_recvmsg(fd, msg, flags), recvmsg, fd, msg, flags);
	got = LKS_FORWARD_SYS(lks_sys_recvmsg(fd, msg, flags), recvmsg, fd, msg, flags);
	if (got >= 0 && msg->msg_controllen > 0)
		record_received(msg);
	lks_leave();
	return got;
}

/* ---- copies ---------------------------------------------------------------- */

LKS_EXPORT int dup(int old_fd)
{
	CREATE_COPY(old_fd, lks_sys_dup(old_fd), dup, old_fd);
}

static int dup_now(int old_fd, int new_fd, int flags, bool is_dup3)
{
	return is_dup3 ? LKS_FORWARD_SYS(lks_sys_dup3(old_fd, new_fd, flags), dup3, old_fd,
	                                 new_fd, flags)
	               : LKS_FORWARD_SYS(lks_sys_dup2(old_fd, new_fd), dup2, old_fd, new_fd);
}

/* new_fd is closed by the call: forget it first, and remember it again if
 * the call fails and left it open. */
static int dup_over(int old_fd, int new_fd, int flags, bool is_dup3)
{
	struct lks_fd_entry replaced;
	bool had = false;
	int result;

	if (lks_unlikely(!lks_enter_started()))
		return dup_now(old_fd, new_fd, flags, is_dup3);
	if (old_fd != new_fd)
		had = lks_fd_forget(new_fd, &replaced);
	result = dup_now(old_fd, new_fd, flags, is_dup3);
	if (result >= 0 && old_fd != new_fd)
		record_copy(old_fd, result);
	else if (result < 0 && had)
		lks_fd_record(&replaced);
	lks_leave();
	return result;
}

LKS_EXPORT int dup2(int old_fd, int new_fd)
{
	return dup_over(old_fd, new_fd, 0, false);
}

LKS_EXPORT int dup3(int old_fd, int new_fd, int flags)
{
	return dup_over(old_fd, new_fd, flags, true);
}

/* The third argument is an int, a long or a pointer depending on cmd;
 * passing it on as a pointer is what glibc's own fcntl does. */
#define FCNTL_LIKE(name)                                                  \
	LKS_EXPORT int name(int fd, int cmd, ...)                         \
	{                                                                 \
		va_list args;                                             \
		void *arg;                                                \
		va_start(args, cmd);                                      \
		arg = va_arg(args, void *);                               \
		va_end(args);                                             \
		if (cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC)             \
			return LKS_FORWARD_SYS(lks_sys_fcntl(fd, cmd, arg), \
			                       name, fd, cmd, arg);       \
		CREATE_COPY(fd, lks_sys_fcntl(fd, cmd, arg), \
		              name, fd, cmd, arg);                        \
	}

FCNTL_LIKE(fcntl)
FCNTL_LIKE(fcntl64)

/* ---- closing ----------------------------------------------------------------- */

/* Forgetting runs even while lks_busy is set (a signal handler closing an fd
 * inside our code): a handle left recorded after its close would be a false
 * leak. */
LKS_EXPORT int close(int fd)
{
	struct lks_fd_entry closed;

	lks_fd_forget(fd, &closed);
	return LKS_FORWARD_SYS(lks_sys_close(fd), close, fd);
}

LKS_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	if (!(flags & CLOSE_RANGE_CLOEXEC))
		lks_fd_forget_range(first, last);
	return LKS_FORWARD_SYS(lks_sys_close_range(first, last, flags), close_range, first, last,
	                       flags);
}

LKS_EXPORT void closefrom(int low)
{
	unsigned int first = low < 0 ? 0 : (unsigned int)low;

	lks_fd_forget_range(first, ~0u);
	if (lks_started() && lks_real_get(&lks_real.closefrom))
		lks_real.closefrom(low);
	else
		lks_sys_close_range(first, ~0u, 0);
}
