/* SPDX-License-Identifier: MIT */
/* The shim's one doorway to the kernel for its own mappings, files and
 * sockets, and for what an interposer forwards before the shim has started:
 * raw system calls, never a libc name the shim interposes itself (its own
 * work would land in its own interposers) nor one it would have to resolve
 * first (dlsym may allocate and lock). Each behaves as the libc function of
 * the same name: -1 (MAP_FAILED) and errno on failure. Inside a snapshot,
 * an open that finds every fd in use is made by fdproxy.c's helper, and so
 * is every later call on the fd it returns. */
#ifndef LEAKSCOPE_SYS_H
#define LEAKSCOPE_SYS_H

#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

void *lks_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int lks_sys_munmap(void *addr, size_t len);
int lks_sys_mprotect(void *addr, size_t len, int prot);
void *lks_sys_mremap(void *old_addr, size_t old_len, size_t new_len, int flags,
                     void *new_addr);
int lks_sys_openat(int dir_fd, const char *path, int flags, mode_t mode);
int lks_sys_close(int fd);
int lks_sys_close_range(unsigned int first, unsigned int last, int flags);
ssize_t lks_sys_read(int fd, void *buf, size_t len);
ssize_t lks_sys_pread(int fd, void *buf, size_t len, off_t offset);
ssize_t lks_sys_write(int fd, const void *buf, size_t len);
ssize_t lks_sys_getdents64(int fd, void *buf, size_t len);
int lks_sys_fcntl(int fd, int cmd, void *arg);
int lks_sys_fstat(int fd, struct stat *st);
int lks_sys_faccessat(int dir_fd, const char *path, int mode);
int lks_sys_mknodat(int dir_fd, const char *path, mode_t mode, dev_t dev);
int lks_sys_socket(int domain, int type, int protocol);
/* /proc/thread-self/NAME (before Linux 3.17: /proc/self/NAME), read-only */
int lks_sys_open_proc(const char *name);

/* Only forwarded, before start: the other fd makers. */
int lks_sys_dup(int fd);
int lks_sys_dup2(int old_fd, int new_fd);
int lks_sys_dup3(int old_fd, int new_fd, int flags);
int lks_sys_pipe2(int fds[2], int flags);
int lks_sys_socketpair(int domain, int type, int protocol, int fds[2]);
int lks_sys_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
ssize_t lks_sys_recvmsg(int fd, struct msghdr *msg, int flags);
int lks_sys_eventfd(unsigned int count, int flags);
int lks_sys_timerfd_create(int clock, int flags);
int lks_sys_signalfd(int fd, const sigset_t *mask, int flags);
int lks_sys_epoll_create(int size);
int lks_sys_epoll_create1(int flags);
int lks_sys_inotify_init1(int flags);
int lks_sys_memfd_create(const char *name, unsigned int flags);
int lks_sys_pidfd_open(pid_t pid, unsigned int flags);
pid_t lks_sys_wait4(pid_t pid, int *status, int options, void *usage);
int lks_sys_waitid(int id_type, id_t id, void *info, int options);

#endif
