/* SPDX-License-Identifier: MIT */
/* FILE and DIR interposers. A stream is recorded in the slot of the fd it
 * owns, so its close (which libc makes without an interposable close) and
 * a close of its fd under it both forget it. */
#undef _FILE_OFFSET_BITS  /* define fopen, not a redirect to fopen64 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>

#include "execnote.h"
#include "handles.h"

static void record_stream(FILE *stream, uint16_t kind)
{
	lks_record_fd(fileno(stream), kind, (uint64_t)(uintptr_t)stream);
}

#define OPEN_STREAM(fn, ...)                                              \
	do {                                                              \
		FILE *stream;                                             \
		if (lks_unlikely(!lks_enter_started()))                           \
			return LKS_FORWARD(fn, NULL, __VA_ARGS__);        \
		stream = LKS_FORWARD(fn, NULL, __VA_ARGS__);              \
		if (stream)                                               \
			record_stream(stream, LKS_HANDLE_FILE);           \
		lks_leave();                                              \
		return stream;                                            \
	} while (0)

LKS_EXPORT FILE *fopen(const char *path, const char *mode)
{
	OPEN_STREAM(fopen, path, mode);
}

LKS_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	OPEN_STREAM(fopen64, path, mode);
}

/* The FILE now owns fd: its record replaces the fd's. */
LKS_EXPORT FILE *fdopen(int fd, const char *mode)
{
	OPEN_STREAM(fdopen, fd, mode);
}

LKS_EXPORT FILE *tmpfile(void)
{
	OPEN_STREAM(tmpfile);
}

LKS_EXPORT FILE *tmpfile64(void)
{
	OPEN_STREAM(tmpfile64);
}

/* The child popen starts inherits the program's fds without CLOEXEC. */
LKS_EXPORT FILE *popen(const char *command, const char *mode)
{
	if (lks_enter_started()) {
		lks_execnote_before_exec(false);
		lks_leave();
	}
	OPEN_STREAM(popen, command, mode);
}

/* freopen closes the stream's old fd and opens another in the same FILE;
 * real is the slot of the real freopen or freopen64. */
static FILE *reopen(void *(*const *real)(const char *, const char *, void *),
                    const char *path, const char *mode, FILE *stream)
{
	FILE *result;

	if (!lks_real_get(real)) {
		errno = ENOSYS;
		return NULL;
	}
	lks_fd_forget_stream(fileno(stream), (uint64_t)(uintptr_t)stream);
	if (lks_unlikely(!lks_enter_started()))
		return (*real)(path, mode, stream);
	result = (*real)(path, mode, stream);
	if (result)
		record_stream(result, LKS_HANDLE_FILE);
	lks_leave();
	return result;
}

LKS_EXPORT FILE *freopen(const char *path, const char *mode, FILE *stream)
{
	return reopen(&lks_real.freopen, path, mode, stream);
}

LKS_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *stream)
{
	return reopen(&lks_real.freopen64, path, mode, stream);
}

/* The FILE or DIR itself is malloc'd inside the opener while we are busy,
 * so it is never recorded (the handle stands for it); its closer frees it
 * with lks_busy set too, so that free is not counted as unknown. */
#define CLOSE_STREAM(fn, fail, ...)                                       \
	do {                                                              \
		unsigned char quiet;                                      \
		int result;                                               \
		if (!lks_real_get(&lks_real.fn)) {                        \
			errno = ENOSYS;                                   \
			return fail;                                      \
		}                                                         \
		quiet = lks_quiet_begin();                                \
		result = lks_real.fn(__VA_ARGS__);                        \
		lks_quiet_end(quiet);                                     \
		return result;                                            \
	} while (0)

/* Closers forget first, even while lks_busy is set (see close()). */
LKS_EXPORT int fclose(FILE *stream)
{
	lks_fd_forget_stream(fileno(stream), (uint64_t)(uintptr_t)stream);
	CLOSE_STREAM(fclose, EOF, stream);
}

LKS_EXPORT int pclose(FILE *stream)
{
	lks_fd_forget_stream(fileno(stream), (uint64_t)(uintptr_t)stream);
	CLOSE_STREAM(pclose, -1, stream);
}

LKS_EXPORT int fcloseall(void)
{
	lks_fd_forget_streams(LKS_HANDLE_FILE);
	CLOSE_STREAM(fcloseall, EOF);
}

/* ---- directories -------------------------------------------------------------- */

/* A DIR is heap memory too (libc sizes its buffer by the directory's
 * st_blksize, 32 KiB at least): its bytes go with the handle. libc
 * allocated it through the shim, quietly, so its allocator can size it
 * (0, unknown, when the program's malloc is not ours to ask). */
static void record_dir(DIR *dir)
{
	struct lks_fd_entry entry = { .fd = dirfd(dir), .type = LKS_HANDLE_DIR,
	                              .addr = (uint64_t)(uintptr_t)dir };
	size_t bytes = lks_heap_sizes_known() ? lks_real.malloc_usable_size(dir) : 0;

	entry.bytes = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
	lks_record_fd_entry(&entry);
}

#define OPEN_DIR(fn, ...)                                                 \
	do {                                                              \
		DIR *dir;                                                 \
		if (lks_unlikely(!lks_enter_started()))                           \
			return LKS_FORWARD(fn, NULL, __VA_ARGS__);        \
		dir = LKS_FORWARD(fn, NULL, __VA_ARGS__);                 \
		if (dir)                                                  \
			record_dir(dir);                                  \
		lks_leave();                                              \
		return dir;                                               \
	} while (0)

LKS_EXPORT DIR *opendir(const char *path)
{
	OPEN_DIR(opendir, path);
}

LKS_EXPORT DIR *fdopendir(int fd)
{
	OPEN_DIR(fdopendir, fd);
}

LKS_EXPORT int closedir(DIR *dir)
{
	lks_fd_forget_stream(dirfd(dir), (uint64_t)(uintptr_t)dir);
	CLOSE_STREAM(closedir, -1, dir);
}
