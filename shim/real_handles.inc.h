/* SPDX-License-Identifier: MIT */
/* The real handle functions, in the form of real.inc.h. Pointer types the
 * table need not know (FILE, DIR, struct msghdr...) are void pointers. */
#ifndef LEAKSCOPE_REAL_HANDLES_INC_H
#define LEAKSCOPE_REAL_HANDLES_INC_H

#define LKS_REAL_HANDLES(X)                                                 \
	X(open, "open", int, (const char *, int, ...))                          \
	X(open64, "open64", int, (const char *, int, ...))                      \
	X(openat, "openat", int, (int, const char *, int, ...))                 \
	X(openat64, "openat64", int, (int, const char *, int, ...))             \
	X(open_2, "__open_2", int, (const char *, int))                         \
	X(open64_2, "__open64_2", int, (const char *, int))                     \
	X(openat_2, "__openat_2", int, (int, const char *, int))                \
	X(openat64_2, "__openat64_2", int, (int, const char *, int))            \
	X(creat, "creat", int, (const char *, mode_t))                          \
	X(creat64, "creat64", int, (const char *, mode_t))                      \
	X(dup, "dup", int, (int))                                               \
	X(dup2, "dup2", int, (int, int))                                        \
	X(dup3, "dup3", int, (int, int, int))                                   \
	X(fcntl, "fcntl", int, (int, int, ...))                                 \
	X(fcntl64, "fcntl64", int, (int, int, ...))                             \
	X(pipe, "pipe", int, (int *))                                           \
	X(pipe2, "pipe2", int, (int *, int))                                    \
	X(socket, "socket", int, (int, int, int))                               \
	X(socketpair, "socketpair", int, (int, int, int, int *))                \
	X(accept, "accept", int, (int, void *, void *))                         \
	X(accept4, "accept4", int, (int, void *, void *, int))                  \
	X(recvmsg, "recvmsg", ssize_t, (int, void *, int))                      \
	X(eventfd, "eventfd", int, (unsigned int, int))                         \
	X(timerfd_create, "timerfd_create", int, (int, int))                    \
	X(signalfd, "signalfd", int, (int, const void *, int))                  \
	X(epoll_create, "epoll_create", int, (int))                             \
	X(epoll_create1, "epoll_create1", int, (int))                           \
	X(inotify_init, "inotify_init", int, (void))                            \
	X(inotify_init1, "inotify_init1", int, (int))                           \
	X(memfd_create, "memfd_create", int, (const char *, unsigned int))      \
	X(pidfd_open, "pidfd_open", int, (pid_t, unsigned int))                 \
	X(close, "close", int, (int))                                           \
	X(close_range, "close_range", int, (unsigned int, unsigned int, int))   \
	X(closefrom, "closefrom", void, (int))                                  \
	X(fopen, "fopen", void *, (const char *, const char *))                 \
	X(fopen64, "fopen64", void *, (const char *, const char *))             \
	X(fdopen, "fdopen", void *, (int, const char *))                        \
	X(freopen, "freopen", void *, (const char *, const char *, void *))     \
	X(freopen64, "freopen64", void *, (const char *, const char *, void *)) \
	X(tmpfile, "tmpfile", void *, (void))                                   \
	X(tmpfile64, "tmpfile64", void *, (void))                               \
	X(popen, "popen", void *, (const char *, const char *))                 \
	X(fclose, "fclose", int, (void *))                                      \
	X(fcloseall, "fcloseall", int, (void))                                  \
	X(pclose, "pclose", int, (void *))                                      \
	X(opendir, "opendir", void *, (const char *))                           \
	X(fdopendir, "fdopendir", void *, (int))                                \
	X(closedir, "closedir", int, (void *))                                  \
	X(mmap, "mmap", void *, (void *, size_t, int, int, int, off_t))         \
	X(mmap64, "mmap64", void *, (void *, size_t, int, int, int, off_t))     \
	X(mremap, "mremap", void *, (void *, size_t, size_t, int, ...))         \
	X(munmap, "munmap", int, (void *, size_t))                              \
	X(execve, "execve", int, (const char *, char *const *, char *const *))  \
	X(execv, "execv", int, (const char *, char *const *))                   \
	X(execvp, "execvp", int, (const char *, char *const *))                 \
	X(execvpe, "execvpe", int, (const char *, char *const *, char *const *)) \
	X(fexecve, "fexecve", int, (int, char *const *, char *const *))         \
	X(execveat, "execveat", int,                                            \
	  (int, const char *, char *const *, char *const *, int))               \
	X(posix_spawn, "posix_spawn", int, (pid_t *, const char *, const void *, \
	  const void *, char *const *, char *const *))                          \
	X(posix_spawnp, "posix_spawnp", int, (pid_t *, const char *,            \
	  const void *, const void *, char *const *, char *const *))            \
	X(system, "system", int, (const char *))

#endif
